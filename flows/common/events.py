"""Every lifecycle status change becomes a Prefect event `novita.instance.<status>`.

Flows write statuses through `EventingStateStore`, a `StateStore` that emits one event per
change on resource `novita.instance.<id>`, so the Event Feed shows each instance's life
without each flow remembering to emit.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from prefect.events import emit_event

from store import LifecycleStatus, ManagedInstance, StateStore

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


class EventingStateStore(StateStore):
    """The state store, emitting an instance event whenever a lifecycle status is written.

    Example:
        ```python
        store = await EventingStateStore.open()
        await store.set_status(instance_id, LifecycleStatus.READY)  # emits novita.instance.ready
        ```

    """

    async def upsert_instance(
        self, instance: ManagedInstance | Mapping[str, Any] | None = None, /, **fields: Any
    ) -> ManagedInstance:
        """Insert or update, emitting the record's status."""
        record = await super().upsert_instance(instance, **fields)
        emit_instance_event(record)
        return record

    async def set_status(
        self,
        instance_id: str,
        status: LifecycleStatus | str,
        reason: str | None = None,
        **timestamps: datetime | None,
    ) -> ManagedInstance:
        """Set the status, emitting it."""
        record = await super().set_status(instance_id, status, reason, **timestamps)
        emit_instance_event(record, reason)
        return record

    async def transition_status(
        self,
        instance_id: str,
        from_statuses: Iterable[LifecycleStatus | str],
        to_status: LifecycleStatus | str,
        reason: str | None = None,
        **timestamps: datetime | None,
    ) -> bool:
        """Compare-and-set the status, emitting it when this call changed it."""
        changed = await super().transition_status(
            instance_id, from_statuses, to_status, reason, **timestamps
        )
        if changed and (record := await self.get_instance(instance_id)) is not None:
            emit_instance_event(record, reason)
        return changed

    async def replace_instance_id(self, old_id: str, new_id: str, **fields: Any) -> ManagedInstance:
        """Move the record to a new Novita id, emitting its status under the new id."""
        record = await super().replace_instance_id(old_id, new_id, **fields)
        emit_instance_event(record)
        return record
