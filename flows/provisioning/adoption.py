"""Idempotent provisioning: an instance with the requested name is adopted, never duplicated."""

from __future__ import annotations

from collections.abc import Iterable

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
    if _alive(record):
        assert record is not None
        return ExistingInstance(instance_id=record.instance_id, record=record)
    return _pick(name, record, await list_instances(res.client, name=name))


async def find_instances_named(
    res: FlowResources, names: Iterable[str]
) -> dict[str, ExistingInstance]:
    """`find_instance_named` for many names at once: one store query, one Novita list.

    Example:
        ```python
        existing = await find_instances_named(res, [r.name for r in requests])
        ```

    """
    wanted = set(names)
    records = {r.name: r for r in await res.store.list_instances() if r.name in wanted}
    found = {
        name: ExistingInstance(instance_id=record.instance_id, record=record)
        for name, record in records.items()
        if _alive(record)
    }
    if len(found) == len(wanted):
        return found
    listed = await list_instances(res.client)
    for name in wanted - set(found):
        existing = _pick(name, records.get(name), listed)
        if existing is not None:
            found[name] = existing
    return found


def _alive(record: ManagedInstance | None) -> bool:
    return record is not None and record.status not in (
        LifecycleStatus.FAILED,
        LifecycleStatus.DELETED,
    )


def _pick(
    name: str, record: ManagedInstance | None, listed: Iterable[Instance]
) -> ExistingInstance | None:
    # Novita's name filter is fuzzy: exactly this name, not being removed, the record's first.
    live = [i for i in listed if i.name == name and i.status not in NOVITA_GONE]
    if not live:
        return None
    chosen = next((i for i in live if record and i.id == record.instance_id), live[0])
    return ExistingInstance(instance_id=chosen.id, record=record, live=chosen)
