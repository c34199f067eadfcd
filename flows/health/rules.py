"""Is the Novita side healthy? One verdict from the checks `novita-health` made (pure).

Each check is judged alone, then the worst level wins:

    novita     down: no answer or an error answer (bad key, 5xx); degraded: slower
               than `slow_ms`; else healthy
    store      down: cannot be opened or read
    sweep <n>  degraded: last success older than 2 x its interval and not deployed within
               that time; a sweep not deployed on this server, or paused, is not judged
    webhooks   degraded: failed deliveries waiting for a redelivery, or given up
    drift      degraded: desired state and Novita disagree for longer than `drift_minutes`

`down` means the product cannot act at all (no Novita, no state); `degraded` means it acts
but something needs a human. A sweep that is not deployed on this Prefect server is not
judged (running flows from Python has no schedule to keep). Nothing here does I/O.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta
from enum import StrEnum

from pydantic import BaseModel, Field

from clients.novita.instances import Instance, InstanceStatus
from store.models import DesiredState, ManagedInstance
from store.statuses import BUSY, GONE, NOVITA_GONE

SWEEP_GRACE_FACTOR = 2
"""A sweep is late when its last success is older than this many of its intervals."""


class Level(StrEnum):
    """How bad one check, or the whole verdict, is; ordered from good to bad."""

    HEALTHY = "healthy"
    DEGRADED = "degraded"
    DOWN = "down"


_RANK = {Level.HEALTHY: 0, Level.DEGRADED: 1, Level.DOWN: 2}


class CheckResult(BaseModel):
    """One check: its name, its level and why.

    Example:
        >>> CheckResult(name="store", level=Level.HEALTHY, reason="read 3 records").level
        <Level.HEALTHY: 'healthy'>

    """

    name: str
    level: Level
    reason: str


class HealthVerdict(BaseModel):
    """The verdict of one `novita-health` run and every check behind it."""

    verdict: Level
    checks: list[CheckResult] = Field(default_factory=list)

    @property
    def failing(self) -> list[CheckResult]:
        """The checks that are not healthy, worst first."""
        bad = [c for c in self.checks if c.level != Level.HEALTHY]
        return sorted(bad, key=lambda c: -_RANK[c.level])

    def summary(self) -> str:
        """One line for logs, the artifact and the event.

        Example:
            >>> HealthVerdict(verdict=Level.DOWN, checks=[
            ...     CheckResult(name="novita", level=Level.DOWN, reason="no answer")]).summary()
            'Novita health: down (novita: no answer)'

        """
        why = "; ".join(f"{c.name}: {c.reason}" for c in self.failing)
        return f"Novita health: {self.verdict}" + (f" ({why})" if why else "")


def overall(checks: Sequence[CheckResult]) -> HealthVerdict:
    """The verdict is the worst level of any check.

    Example:
        >>> overall([CheckResult(name="a", level=Level.HEALTHY, reason="ok"),
        ...          CheckResult(name="b", level=Level.DEGRADED, reason="late")]).verdict
        <Level.DEGRADED: 'degraded'>

    """
    worst = max((c.level for c in checks), key=_RANK.__getitem__, default=Level.HEALTHY)
    return HealthVerdict(verdict=worst, checks=list(checks))


def judge_novita(
    reachable: bool, latency_ms: float, error: str | None, slow_ms: float
) -> CheckResult:
    """Novita answered (how fast), or why not.

    Example:
        >>> judge_novita(False, 3.0, "connection refused", 2000).level
        <Level.DOWN: 'down'>
        >>> judge_novita(True, 2500.0, None, 2000).reason
        'answered in 2500 ms (slower than 2000 ms)'

    """
    if not reachable:
        return CheckResult(name="novita", level=Level.DOWN, reason=error or "no answer")
    took = f"answered in {latency_ms:.0f} ms"
    if latency_ms > slow_ms:
        return CheckResult(
            name="novita", level=Level.DEGRADED, reason=f"{took} (slower than {slow_ms:.0f} ms)"
        )
    return CheckResult(name="novita", level=Level.HEALTHY, reason=took)


def judge_store(error: str | None, records: int, latency_ms: float) -> CheckResult:
    """The state store could be read, or why not.

    Example:
        >>> judge_store(None, 4, 1.5).reason
        'read 4 managed instances in 2 ms'

    """
    if error is not None:
        return CheckResult(name="store", level=Level.DOWN, reason=error)
    return CheckResult(
        name="store",
        level=Level.HEALTHY,
        reason=f"read {records} managed instances in {latency_ms:.0f} ms",
    )


class SweepSeen(BaseModel):
    """What Prefect says about one sweep: its deployment's interval and its last success."""

    name: str
    interval_minutes: float | None = Field(
        default=None,
        description="The deployment's interval; None when not deployed here (or not by interval)",
    )
    deployed_at: datetime | None = Field(
        default=None, description="When the deployment was created"
    )
    paused: bool = Field(
        default=False, description="The deployment or all its schedules are paused"
    )
    last_success_at: datetime | None = None


def judge_sweep(seen: SweepSeen, now: datetime) -> CheckResult:
    """A scheduled sweep succeeded within twice its interval (or was deployed since then).

    Example:
        >>> from datetime import UTC, datetime, timedelta
        >>> now = datetime(2026, 1, 1, 12, tzinfo=UTC)
        >>> seen = SweepSeen(name="fleet-sync", interval_minutes=10,
        ...                  deployed_at=now - timedelta(hours=3),
        ...                  last_success_at=now - timedelta(minutes=25))
        >>> judge_sweep(seen, now).reason
        'last success 25 min ago (limit 20 min: 2 x every 10 min)'

    """
    name = f"sweep {seen.name}"
    if seen.paused:
        # an operator's choice (or a stopped `serve`): said, not judged
        return CheckResult(name=name, level=Level.HEALTHY, reason="schedule paused: not judged")
    if seen.interval_minutes is None:
        return CheckResult(
            name=name, level=Level.HEALTHY, reason="no interval schedule here: not judged"
        )
    limit = timedelta(minutes=seen.interval_minutes * SWEEP_GRACE_FACTOR)
    rule = (
        f"limit {_minutes(limit)} min: {SWEEP_GRACE_FACTOR} x every {seen.interval_minutes:g} min"
    )
    if seen.last_success_at is not None and now - seen.last_success_at <= limit:
        ago = _minutes(now - seen.last_success_at)
        return CheckResult(name=name, level=Level.HEALTHY, reason=f"last success {ago} min ago")
    if seen.deployed_at is not None and now - seen.deployed_at <= limit:
        # a fresh deployment has had no chance to run yet
        ago = _minutes(now - seen.deployed_at)
        return CheckResult(
            name=name, level=Level.HEALTHY, reason=f"deployed {ago} min ago, no success yet"
        )
    if seen.last_success_at is None:
        return CheckResult(name=name, level=Level.DEGRADED, reason=f"never succeeded ({rule})")
    ago = _minutes(now - seen.last_success_at)
    return CheckResult(
        name=name, level=Level.DEGRADED, reason=f"last success {ago} min ago ({rule})"
    )


def judge_deliveries(waiting: int, given_up: int) -> CheckResult:
    """Owner webhooks that failed: waiting for a redelivery, or given up on.

    Example:
        >>> judge_deliveries(0, 0).level
        <Level.HEALTHY: 'healthy'>
        >>> judge_deliveries(2, 1).reason
        '2 failed deliveries waiting for a redelivery, 1 given up'

    """
    if waiting == 0 and given_up == 0:
        return CheckResult(name="webhooks", level=Level.HEALTHY, reason="no failed deliveries")
    return CheckResult(
        name="webhooks",
        level=Level.DEGRADED,
        reason=f"{waiting} failed deliveries waiting for a redelivery, {given_up} given up",
    )


def disagreement(record: ManagedInstance, live: Instance | None) -> str | None:
    """How a record's desired state and Novita's status disagree, or None.

    A record a flow run owns (a busy status) is in motion, not in disagreement.

    Example:
        >>> r = ManagedInstance(instance_id="0123456789abcdef", name="a", status="ready")
        >>> disagreement(r, Instance(id="0123456789abcdef", status="exited"))
        'wants running, Novita reports exited'
        >>> disagreement(r, Instance(id="0123456789abcdef", status="running"))

    """
    if record.status in BUSY or record.status in GONE:
        return None
    status = None if live is None else live.status
    seen = "Novita does not know it" if live is None else f"Novita reports {status}"
    gone = live is None or status in NOVITA_GONE
    if record.desired_state == DesiredState.RUNNING and (gone or status == InstanceStatus.EXITED):
        return f"wants running, {seen}"
    if record.desired_state == DesiredState.STOPPED and status == InstanceStatus.RUNNING:
        return f"wants stopped, {seen}"
    if record.desired_state == DesiredState.DELETED and not gone:
        return f"wants deleted, {seen}"
    return None


def judge_drift(
    records: Iterable[ManagedInstance],
    live: Sequence[Instance],
    now: datetime,
    drift_minutes: float,
) -> CheckResult:
    """Managed instances whose desired state and Novita disagree for over `drift_minutes`.

    "For how long" is measured from the record's last change: a sweep or fleet-sync that
    acts on the instance writes it, so a record left alone that long was not acted on.

    Example:
        ```python
        judge_drift(await store.list_instances(), await list_instances(client), utc_now(), 15)
        ```

    """
    by_id = {i.id: i for i in live}
    limit = timedelta(minutes=drift_minutes)
    stuck = []
    for record in records:
        why = disagreement(record, by_id.get(record.instance_id))
        if why is not None and now - record.updated_at > limit:
            stuck.append(f"{record.name} ({why}, {_minutes(now - record.updated_at)} min)")
    if not stuck:
        return CheckResult(
            name="drift",
            level=Level.HEALTHY,
            reason=f"no disagreement older than {drift_minutes:g} min",
        )
    shown = ", ".join(stuck[:5]) + (f" and {len(stuck) - 5} more" if len(stuck) > 5 else "")
    return CheckResult(
        name="drift", level=Level.DEGRADED, reason=f"{len(stuck)} out of step: {shown}"
    )


def _minutes(delta: timedelta) -> str:
    return f"{delta.total_seconds() / 60:.0f}"
