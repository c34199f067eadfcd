"""When is an instance auto-stopped? The rules of DESIGN §5, in one place, for the whole fleet.

One pass over the store's records and Novita's list (both read once per sweep) splits every
instance into *idle* (to stop) and *skipped* (with the reason). Nothing here calls Novita or
Prefect, so the rules are plain functions that can be tested on their own.

Rules for a managed instance: its desired state is running; its threshold is its own
`auto_stop_minutes`, else the sweep's (0 = never); it is not in the middle of a provisioning,
start, migration or stop; our status is `ready` and Novita reports it `running`; and its last
use — the latest of its mark-used signal, its newest `novita.instance.used` Prefect event
(read in bulk, `flows/common/use_events.py`) and the time it became ready this run — is at
least the threshold ago. An unmanaged instance (Novita knows it, the store does not) is only
considered when the sweep is told to include them; its last use is its last start or event.

The same rules serve three callers: the sweep's plan (`plan_auto_stop`), the re-check right
before one stop (`recheck`), and the fleet table's "auto-stop in" column (`countdown`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime, timedelta

from pydantic import BaseModel, Field

from clients.novita.instances import Instance, InstanceStatus
from flows.sweeps.outcomes import SkippedInstance
from store.models import DesiredState, LifecycleStatus, ManagedInstance
from store.statuses import BUSY


class IdleInstance(BaseModel):
    """An instance idle for at least its threshold: auto-stop stops it (or would, in a dry run).

    Example:
        >>> from datetime import UTC, datetime
        >>> IdleInstance(instance_id="0123456789abcdef", name="a", managed=True,
        ...              idle_minutes=25.0, threshold_minutes=20,
        ...              last_used_at=datetime(2026, 1, 1, tzinfo=UTC)).idle_minutes
        25.0

    """

    instance_id: str
    name: str | None = None
    managed: bool
    idle_minutes: float = Field(description="Minutes since the last use, when decided")
    threshold_minutes: int
    last_used_at: datetime = Field(
        description="Last mark-used or use event, ready time, or last start"
    )


class AutoStopPlan(BaseModel):
    """The sweep's decisions: how many instances it looked at, which are idle, which not."""

    checked: int
    idle: list[IdleInstance] = Field(default_factory=list)
    skipped: list[SkippedInstance] = Field(default_factory=list)


def last_use(record: ManagedInstance, used_event_at: datetime | None = None) -> datetime | None:
    """The last use of a managed instance: the latest of mark-used, use event and ready time.

    A signal older than the latest ready (an instance stopped and started again since)
    does not count: the new run is fresh from the moment it became ready.

    Example:
        >>> from datetime import UTC, datetime
        >>> r = ManagedInstance(instance_id="0123456789abcdef", name="a",
        ...                     ready_at=datetime(2026, 1, 2, tzinfo=UTC),
        ...                     last_used_at=datetime(2026, 1, 1, tzinfo=UTC))
        >>> last_use(r).day, last_use(r, used_event_at=datetime(2026, 1, 3, tzinfo=UTC)).day
        (2, 3)

    """
    signals = (record.last_used_at, record.ready_at, used_event_at)
    moments = [t for t in signals if t is not None]
    return max(moments) if moments else None


def use_event_lookback(records: Iterable[ManagedInstance], default_threshold: int) -> timedelta:
    """How far back a use event can still matter: the longest threshold in force.

    An older event cannot keep anything running, so the sweep reads no further back.

    Example:
        >>> use_event_lookback([ManagedInstance(instance_id="a", name="a",
        ...                                     auto_stop_minutes=60)], 20)
        datetime.timedelta(seconds=3600)

    """
    thresholds = [effective_threshold(r, default_threshold) for r in records]
    return timedelta(minutes=max([default_threshold, *thresholds]))


def effective_threshold(record: ManagedInstance, default_threshold: int) -> int:
    """The instance's own `auto_stop_minutes`, else the sweep's default (0 = never).

    Example:
        >>> effective_threshold(ManagedInstance(instance_id="a", name="a"), 20)
        20

    """
    return record.auto_stop_minutes if record.auto_stop_minutes is not None else default_threshold


def idle_minutes(since: datetime, now: datetime) -> float:
    """Minutes from `since` to `now`, one decimal (never negative).

    Example:
        >>> from datetime import UTC, datetime
        >>> idle_minutes(datetime(2026, 1, 1, tzinfo=UTC), datetime(2026, 1, 1, 0, 25, 30,
        ...              tzinfo=UTC))
        25.5

    """
    return round(max((now - since).total_seconds(), 0.0) / 60, 1)


def decide_managed(
    record: ManagedInstance,
    live: Instance | None,
    now: datetime,
    default_threshold: int,
    used_event_at: datetime | None = None,
) -> IdleInstance | SkippedInstance:
    """Decide one managed instance: idle (to stop) or skipped with the reason.

    `used_event_at`: its newest `novita.instance.used` event, when the sweep read one.

    Example:
        >>> from datetime import UTC, datetime, timedelta
        >>> now = datetime(2026, 1, 1, 1, tzinfo=UTC)
        >>> r = ManagedInstance(instance_id="0123456789abcdef", name="a", status="ready",
        ...                     ready_at=now - timedelta(minutes=30))
        >>> live = Instance(id="0123456789abcdef", status="running")
        >>> decide_managed(r, live, now, 20).idle_minutes
        30.0

    """

    def skip(reason: str) -> SkippedInstance:
        return SkippedInstance(instance_id=record.instance_id, name=record.name, reason=reason)

    if record.desired_state != DesiredState.RUNNING:
        return skip(f"desired state is {record.desired_state}")
    threshold = effective_threshold(record, default_threshold)
    if threshold == 0:
        own = record.auto_stop_minutes is not None
        return skip(
            "auto-stop is off for this instance (auto_stop_minutes=0)"
            if own
            else "auto-stop is off by policy (threshold 0)"
        )
    if record.status in BUSY:
        return skip(f"busy: our status is {record.status} (provisioning, start, migration or stop)")
    if record.status != LifecycleStatus.READY:
        return skip(f"not serving: our status is {record.status}")
    if live is None:
        return skip("Novita does not list it")
    if live.status != InstanceStatus.RUNNING:
        return skip(f"Novita reports {live.status_raw or live.status}")
    used = last_use(record, used_event_at)
    if used is None:
        return skip("no use signal and no ready time")
    idle = idle_minutes(used, now)
    if idle < threshold:
        return skip(f"used {idle:g} min ago; threshold {threshold} min")
    return IdleInstance(
        instance_id=record.instance_id,
        name=record.name,
        managed=True,
        idle_minutes=idle,
        threshold_minutes=threshold,
        last_used_at=used,
    )


def decide_unmanaged(
    live: Instance,
    now: datetime,
    threshold: int,
    include_unmanaged: bool,
    used_event_at: datetime | None = None,
) -> IdleInstance | SkippedInstance:
    """Decide one running instance the store does not manage; last use = last start or event.

    Example:
        >>> from datetime import UTC, datetime
        >>> live = Instance(id="0123456789abcdef", name="x", status="running")
        >>> decide_unmanaged(live, datetime(2026, 1, 1, tzinfo=UTC), 20, False).reason
        'unmanaged (not in the store); include_unmanaged is off'

    """

    def skip(reason: str) -> SkippedInstance:
        return SkippedInstance(instance_id=live.id, name=live.name or None, reason=reason)

    if not include_unmanaged:
        return skip("unmanaged (not in the store); include_unmanaged is off")
    if threshold == 0:
        return skip("unmanaged; auto-stop is off by policy (threshold 0)")
    started = live.last_started_at or live.created_at
    moments = [t for t in (started, used_event_at) if t is not None]
    if not moments:
        return skip("unmanaged; Novita reports no start time")
    used = max(moments)
    idle = idle_minutes(used, now)
    if idle < threshold:
        return skip(f"unmanaged; used {idle:g} min ago; threshold {threshold} min")
    return IdleInstance(
        instance_id=live.id,
        name=live.name or None,
        managed=False,
        idle_minutes=idle,
        threshold_minutes=threshold,
        last_used_at=used,
    )


def plan_auto_stop(
    records: Iterable[ManagedInstance],
    live: Sequence[Instance],
    now: datetime,
    default_threshold: int,
    include_unmanaged: bool,
    used_events: Mapping[str, datetime] | None = None,
) -> AutoStopPlan:
    """Decide every instance at once: managed records, then running unmanaged instances.

    Args:
        records: Every managed record that is not deleted (one store query).
        live: Every instance Novita lists (one paginated list call).
        now: The sweep's clock.
        default_threshold: Minutes for instances without their own `auto_stop_minutes`.
        include_unmanaged: Also consider running instances the store does not manage.
        used_events: Instance id -> its newest `novita.instance.used` event (one bulk read).

    Example:
        ```python
        plan = plan_auto_stop(await store.list_instances(), await list_instances(client),
                              utc_now(), 20, include_unmanaged=False)
        ```

    """
    by_id = {i.id: i for i in live}
    used = used_events or {}
    plan = AutoStopPlan(checked=0)
    managed_ids: set[str] = set()
    for record in records:
        managed_ids.add(record.instance_id)
        plan.checked += 1
        live_one = by_id.get(record.instance_id)
        used_at = used.get(record.instance_id)
        _add(plan, decide_managed(record, live_one, now, default_threshold, used_at))
    for instance in live:
        if instance.id in managed_ids or instance.status != InstanceStatus.RUNNING:
            continue
        plan.checked += 1
        used_at = used.get(instance.id)
        _add(plan, decide_unmanaged(instance, now, default_threshold, include_unmanaged, used_at))
    return plan


def _add(plan: AutoStopPlan, decision: IdleInstance | SkippedInstance) -> None:
    if isinstance(decision, IdleInstance):
        plan.idle.append(decision)
    else:
        plan.skipped.append(decision)


def recheck(
    candidate: IdleInstance,
    record: ManagedInstance | None,
    live: Instance | None,
    now: datetime,
    used_event_at: datetime | None = None,
) -> IdleInstance | SkippedInstance:
    """Decide one candidate again from a fresh read, right before it is stopped.

    Example:
        >>> from datetime import UTC, datetime
        >>> c = IdleInstance(instance_id="0123456789abcdef", name="a", managed=True,
        ...                  idle_minutes=25.0, threshold_minutes=20,
        ...                  last_used_at=datetime(2026, 1, 1, tzinfo=UTC))
        >>> recheck(c, None, None, datetime(2026, 1, 1, 1, tzinfo=UTC)).reason
        'Novita no longer knows it'

    """
    if live is None:
        return SkippedInstance(
            instance_id=candidate.instance_id,
            name=candidate.name,
            reason="Novita no longer knows it",
        )
    if not candidate.managed:
        threshold = candidate.threshold_minutes
        return decide_unmanaged(live, now, threshold, True, used_event_at)
    if record is None or record.status == LifecycleStatus.DELETED:
        return SkippedInstance(
            instance_id=candidate.instance_id, name=candidate.name, reason="no longer managed"
        )
    return decide_managed(record, live, now, candidate.threshold_minutes, used_event_at)


def countdown(
    record: ManagedInstance,
    live: Instance | None,
    default_threshold: int,
    now: datetime,
    used_event_at: datetime | None = None,
) -> str:
    """How long until auto-stop applies: `never` (threshold 0), `due`, `N min`, or `-`.

    `-` when the rules do not apply now: Novita does not report it running, our status is
    not ready, or its owner does not want it running.

    Example:
        >>> from datetime import UTC, datetime, timedelta
        >>> now = datetime(2026, 1, 1, 1, tzinfo=UTC)
        >>> r = ManagedInstance(instance_id="a", name="a", status="ready",
        ...                     ready_at=now - timedelta(minutes=5))
        >>> countdown(r, Instance(id="a", status="running"), 20, now)
        '15 min'

    """
    serving = live is not None and live.status is InstanceStatus.RUNNING
    if not serving or record.status != LifecycleStatus.READY:
        return "-"
    if record.desired_state != DesiredState.RUNNING:
        return "-"
    threshold = effective_threshold(record, default_threshold)
    if threshold == 0:
        return "never"
    used = last_use(record, used_event_at)
    if used is None:
        return "-"
    left = timedelta(minutes=threshold) - (now - used)
    if left <= timedelta(0):
        return "due"
    return f"{int(left.total_seconds() // 60)} min"
