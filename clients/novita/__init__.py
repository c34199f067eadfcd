"""Async client of the Novita.ai GPU-instance API: client, models, errors and retry policy.

Example:
    from clients.novita import CreateInstanceRequest, NovitaCapacityError, NovitaClient

    async with NovitaClient(api_key=key, base_url=base_url) as client:
        try:
            instance_id = await client.create_instance(request)
        except NovitaCapacityError as exc:
            logger.warning("no room: %s", exc)

"""

from clients.novita.catalog import (
    PRICE_UNITS_PER_USD,
    BillingMode,
    Cluster,
    MonthlyPrice,
    Product,
    strip_region_suffix,
    units_to_usd,
)
from clients.novita.client import DEFAULT_BASE_URL, DEFAULT_TIMEOUT, NovitaClient
from clients.novita.create_request import CreateInstanceRequest, parse_ports_spec
from clients.novita.errors import (
    NovitaAuthenticationError,
    NovitaBillingError,
    NovitaCapacityError,
    NovitaConnectionError,
    NovitaError,
    NovitaInvalidRequestError,
    NovitaInvalidStateError,
    NovitaNotFoundError,
    NovitaQuotaError,
    NovitaRateLimitError,
    NovitaRequestTimeoutError,
    NovitaServerError,
    NovitaTimeoutError,
    NovitaTransportError,
    NovitaUnexpectedResponseError,
    error_from_response,
    error_from_transport,
)
from clients.novita.instances import (
    Instance,
    InstanceActionResult,
    InstanceStatus,
    JupyterConnection,
    LogConnection,
    PortMapping,
    SshConnection,
    StatusError,
    WebTerminalConnection,
)
from clients.novita.jobs import FINISHED_JOB_STATES, Job, JobState
from clients.novita.retry import RetryPolicy, call_with_retry, should_retry
from clients.novita.templates import EnvVar, RegistryAuth, Template, TemplatePort

__all__ = [
    "DEFAULT_BASE_URL",
    "DEFAULT_TIMEOUT",
    "FINISHED_JOB_STATES",
    "PRICE_UNITS_PER_USD",
    "BillingMode",
    "Cluster",
    "CreateInstanceRequest",
    "EnvVar",
    "Instance",
    "InstanceActionResult",
    "InstanceStatus",
    "Job",
    "JobState",
    "JupyterConnection",
    "LogConnection",
    "MonthlyPrice",
    "NovitaAuthenticationError",
    "NovitaBillingError",
    "NovitaCapacityError",
    "NovitaClient",
    "NovitaConnectionError",
    "NovitaError",
    "NovitaInvalidRequestError",
    "NovitaInvalidStateError",
    "NovitaNotFoundError",
    "NovitaQuotaError",
    "NovitaRateLimitError",
    "NovitaRequestTimeoutError",
    "NovitaServerError",
    "NovitaTimeoutError",
    "NovitaTransportError",
    "NovitaUnexpectedResponseError",
    "PortMapping",
    "Product",
    "RegistryAuth",
    "RetryPolicy",
    "SshConnection",
    "StatusError",
    "Template",
    "TemplatePort",
    "WebTerminalConnection",
    "call_with_retry",
    "error_from_response",
    "error_from_transport",
    "parse_ports_spec",
    "should_retry",
    "strip_region_suffix",
    "units_to_usd",
]
