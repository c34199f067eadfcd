"""Every lifecycle status change becomes a Prefect event `novita.instance.<status>`.

The journal (`flows.common.journal`) emits one event per status it writes, on resource
`novita.instance.<id>`, so the Event Feed shows each instance's life without each flow
remembering to emit.
"""

from __future__ import annotations

import logging

from prefect.events import emit_event

from store import ManagedInstance

logger = logging.getLogger(__name__)


def instance_resource_id(instance_id: str) -> str:
    """The Prefect resource id of a Novita instance.

    Example:
        >>> instance_resource_id("0123456789abcdef")
        'novita.instance.0123456789abcdef'

    """
    return f"novita.instance.{instance_id}"


def emit_instance_event(record: ManagedInstance, reason: str | None = None) -> None:
    """Emit `novita.instance.<status>` for a record (never raises: events are best effort).

    Example:
        ```python
        emit_instance_event(await store.get_instance(instance_id))
        ```

    """
    try:
        emit_event(
            event=f"novita.instance.{record.status}",
            resource={
                "prefect.resource.id": instance_resource_id(record.instance_id),
                "prefect.resource.name": record.name,
            },
            payload={
                "status": str(record.status),
                "desired_state": str(record.desired_state),
                "reason": reason if reason is not None else record.status_reason,
                "region": record.region,
                "product": record.product_name,
            },
        )
    except Exception as exc:  # an event that cannot be sent must not fail the operation
        logger.warning("Event for %s not emitted: %s", record.instance_id, type(exc).__name__)
