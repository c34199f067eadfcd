"""Async client of the Novita.ai GPU-instance API: client, models, errors and retry policy.

The package exports what each of its modules exports (their ``__all__``), so a name is
listed once, where it is defined.

Example:
    from clients.novita import CreateInstanceRequest, NovitaCapacityError, NovitaClient

    async with NovitaClient(api_key=key, base_url=base_url) as client:
        try:
            instance_id = await client.create_instance(request)
        except NovitaCapacityError as exc:
            logger.warning("no room: %s", exc)

"""

from clients.novita import (
    catalog,
    client,
    create_request,
    error_classification,
    errors,
    http_attempt,
    instances,
    jobs,
    retry,
    templates,
)
from clients.novita.catalog import *  # noqa: F403
from clients.novita.client import *  # noqa: F403
from clients.novita.create_request import *  # noqa: F403
from clients.novita.error_classification import *  # noqa: F403
from clients.novita.errors import *  # noqa: F403
from clients.novita.http_attempt import *  # noqa: F403
from clients.novita.instances import *  # noqa: F403
from clients.novita.jobs import *  # noqa: F403
from clients.novita.retry import *  # noqa: F403
from clients.novita.templates import *  # noqa: F403

__all__ = [
    *catalog.__all__,
    *client.__all__,
    *create_request.__all__,
    *error_classification.__all__,
    *errors.__all__,
    *http_attempt.__all__,
    *instances.__all__,
    *jobs.__all__,
    *retry.__all__,
    *templates.__all__,
]
