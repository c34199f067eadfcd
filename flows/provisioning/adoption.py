"""Idempotent provisioning: an instance with the requested name is adopted, never duplicated."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict

from clients.novita import Instance
from flows.common.resources import FlowResources
from store import LifecycleStatus, ManagedInstance
from store.statuses import NOVITA_GONE
from tasks.novita_instances import list_instances


class ExistingInstance(BaseModel):
    """An instance already carrying the name: our record of it and/or Novita's view."""

    model_config = ConfigDict(arbitrary_types_allowed=True)

    instance_id: str
    record: ManagedInstance | None = None
    live: Instance | None = None


async def find_instance_named(res: FlowResources, name: str) -> ExistingInstance | None:
    """Find a managed or Novita instance with exactly this name that is not being removed.

    A managed record that is alive wins; otherwise Novita's list (its name filter is fuzzy,
    so the exact name is checked here) finds one created outside the product or by a run
    that crashed between create and record.

    Example:
        ```python
        existing = await find_instance_named(res, "trainer-1")
        ```

    """
    record = await res.store.get_instance_by_name(name)
    if record is not None and record.status not in (
        LifecycleStatus.FAILED,
        LifecycleStatus.DELETED,
    ):
        return ExistingInstance(instance_id=record.instance_id, record=record)
    live = [
        i
        for i in await list_instances(res.client, name=name)
        if i.name == name and i.status not in NOVITA_GONE
    ]
    if not live:
        return None
    chosen = next((i for i in live if record and i.id == record.instance_id), live[0])
    return ExistingInstance(instance_id=chosen.id, record=record, live=chosen)
