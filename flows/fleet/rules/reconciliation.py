"""Which managed records follow Novita, decided in bulk for the whole fleet (pure).

`plan_reconciliation` compares every managed (non-deleted) record with the one instance
list Novita gave and returns the status changes to make; `flows/fleet/reconcile.py` writes
them (compare-and-set from the status that was read, so a flow that moved the record
meanwhile wins), records each in the history as `OperationKind.SYNC`, and tells the owner
when a machine turns out to be gone.

The rules, our status × Novita's status (anything not listed is left alone):

| our status | Novita reports | becomes | why |
|---|---|---|---|
| ready, running | `exited` | exited | stopped outside, or spot reclaimed |
| stopped, exited | `running` | running | started outside (not health-checked) |
| ready, running, failed, stopped, exited | missing, `removed` | deleted | removed outside |
| busy (see below) | anything | unchanged | a flow is acting |
| busy, abandoned | `running` | running | no flow acts (not health-checked) |
| busy, abandoned | `exited` | exited (stopping: stopped) | no flow acts |
| busy, abandoned | missing, `removed` | deleted | removed outside |

A record in a busy status (`creating`, `starting`, `health_checking`, `migrating`,
`stopping`) belongs to the flow run that put it there (provisioning, start, migration, stop):
that run polls Novita itself and records the outcome, so fleet-sync never overrides it while
it acts. Whether it still acts is asked of Prefect (`flows/common/activity.py`): the run of the
record's latest `started` operation. The record counts as *abandoned*, and follows Novita,
when that run has ended (a provisioning with `wait_until_ready=false` ends while the record
still says `creating`; a crashed run ends too); when the run is still not final after
`ACTING_RUN_LIMIT` (longer than any deadline a run may set), taken as a run that died
without Prefect noticing; and, when Prefect cannot tell, when the record has not been written
for `BUSY_GRACE_FACTOR` × the readiness deadline (20 minutes with the default 10).

`failed` stays `failed` while the machine exists: the owner was told the provisioning or
start failed, and start/provision from there is the way back. Novita's transitional statuses
(`toStart`, `pulling`, `toRemove`, `removing`, `migrating`, ...) change nothing: something
is in motion and the next sync sees where it ends.

The store is read *before* Novita's list: a record created after the list call cannot then
be taken for one that Novita forgot.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta

from pydantic import BaseModel, ConfigDict, Field

from clients.novita.instances import Instance, InstanceStatus
from flows.common.flow_activity import FlowActivity
from store.models import DesiredState, LifecycleStatus, ManagedInstance
from store.statuses import BUSY, SETTLED_SERVING, STOPPED

BUSY_GRACE_FACTOR = 2
"""When Prefect cannot tell, a busy record untouched this many readiness deadlines is abandoned."""

ACTING_RUN_LIMIT = timedelta(hours=5)
"""A flow run still not final after this long (runs may set deadlines up to 240 minutes) is
taken as one that died without Prefect noticing."""

REMOVED_OUTSIDE = "removed outside the product"
REMOVAL_CONFIRMED = "removal confirmed by fleet-sync (Novita no longer lists it)"


class StatusChange(BaseModel):
    """One record whose status fleet-sync moves to follow Novita.

    Serialised with the keys `from` and `to` (`from` is a Python keyword, hence the names).

    Example:
        >>> change = StatusChange(instance_id="0123456789abcdef", name="a", from_status="ready",
        ...                       to_status="exited", novita_status="exited", reason="stopped")
        >>> change.model_dump()["from"]
        <LifecycleStatus.READY: 'ready'>

    """

    model_config = ConfigDict(populate_by_name=True, serialize_by_alias=True)

    instance_id: str
    name: str
    from_status: LifecycleStatus = Field(alias="from")
    to_status: LifecycleStatus = Field(alias="to")
    novita_status: str = Field(description="Novita's raw status, or 'missing'")
    reason: str


def abandoned_after(readiness_deadline_minutes: float) -> timedelta:
    """How long a busy record may go unwritten before fleet-sync takes it as abandoned.

    Example:
        >>> abandoned_after(10)
        datetime.timedelta(seconds=1200)

    """
    return timedelta(minutes=readiness_deadline_minutes * BUSY_GRACE_FACTOR)


def is_abandoned(
    record: ManagedInstance, now: datetime, abandon_after: timedelta, activity: FlowActivity
) -> bool:
    """Whether nobody acts on a busy record any more (see the module's rules).

    Example:
        >>> from store.clock import utc_now
        >>> rec = ManagedInstance(instance_id="a", name="a", status="creating")
        >>> is_abandoned(rec, utc_now(), timedelta(minutes=20), FlowActivity(ended={"a"}))
        True

    """
    age = now - record.updated_at
    state = activity.state_of(record.instance_id)
    if state == "ended":
        return True
    if state == "acting":
        return age > ACTING_RUN_LIMIT
    return age > abandon_after


def _exited_reason(instance: Instance) -> str:
    if instance.was_spot_reclaimed:
        return "Novita reports exited: spot reclaimed (or stopped outside the product)"
    return "Novita reports exited: stopped outside the product"


def _decide(
    record: ManagedInstance, live: Instance | None, abandoned: bool
) -> tuple[LifecycleStatus, str] | None:
    """The status this record should have given Novita's view, or None to leave it."""
    ours = record.status
    busy = ours in BUSY
    if busy and not abandoned:
        return None
    if live is None or live.status is InstanceStatus.REMOVED:
        if record.desired_state == DesiredState.DELETED:
            return LifecycleStatus.DELETED, REMOVAL_CONFIRMED
        return LifecycleStatus.DELETED, REMOVED_OUTSIDE
    if live.status is InstanceStatus.RUNNING:
        if ours in STOPPED:
            return (
                LifecycleStatus.RUNNING,
                "Novita reports running: started outside the product (not health-checked)",
            )
        if busy:
            return (
                LifecycleStatus.RUNNING,
                f"Novita reports running; no flow is acting on it any more (it was left {ours}; "
                "not health-checked)",
            )
        return None
    if live.status is InstanceStatus.EXITED:
        if ours in SETTLED_SERVING:
            return LifecycleStatus.EXITED, _exited_reason(live)
        if busy:
            if ours is LifecycleStatus.STOPPING:
                return LifecycleStatus.STOPPED, "Novita reports exited; the stop is done"
            return (
                LifecycleStatus.EXITED,
                f"Novita reports exited; no flow is acting on it any more (it was left {ours})",
            )
    return None


def plan_reconciliation(
    records: Iterable[ManagedInstance],
    live: Mapping[str, Instance],
    now: datetime,
    abandon_after: timedelta,
    activity: FlowActivity | None = None,
) -> list[StatusChange]:
    """Decide which managed records follow Novita, all at once, without any I/O.

    Args:
        records: Managed records, read before `live` was listed; deleted ones are skipped.
        live: Every instance Novita lists, by id.
        now: The moment of the decision (UTC).
        abandon_after: When Prefect cannot tell, busy records untouched for longer are
            taken as abandoned.
        activity: What Prefect says about the flow runs behind busy records.

    Returns:
        The changes, one per record that moved, in the order of `records`.

    Example:
        >>> from store.clock import utc_now
        >>> rec = ManagedInstance(instance_id="0123456789abcdef", name="a", status="ready")
        >>> [c.to_status for c in plan_reconciliation([rec], {}, utc_now(), timedelta(1))]
        [<LifecycleStatus.DELETED: 'deleted'>]

    """
    changes: list[StatusChange] = []
    for record in records:
        if record.status is LifecycleStatus.DELETED:
            continue
        instance = live.get(record.instance_id)
        abandoned = record.status in BUSY and is_abandoned(
            record, now, abandon_after, activity or FlowActivity()
        )
        decision = _decide(record, instance, abandoned)
        if decision is None or decision[0] is record.status:
            continue
        to_status, reason = decision
        changes.append(
            StatusChange(
                instance_id=record.instance_id,
                name=record.name,
                from_status=record.status,
                to_status=to_status,
                novita_status=instance.status_raw if instance is not None else "missing",
                reason=reason,
            )
        )
    return changes
