"""Which reclaimed instances are brought back, and how a migration is retried: DESIGN §5.

From the store's records and ONE Novita list call: a managed instance that Novita reports
`exited` while its desired state is running, and that was reclaimed (spot billing, or
Novita's spotStatus / spotReclaimTime say so), is eligible — unless a provisioning, start or
stop owns it, its last attempt is within the cool-down, or it used up its attempts. An
instance a user or auto-stop stopped has desired state `stopped` and is never migrated.
Nothing here calls Novita or Prefect.

How a migration is retried, from the smallest loop to the largest:

1. Each Novita call of an attempt is retried by the client alone on transient errors
   (408, 429, 5xx, timeouts): `clients.novita.retry.RetryPolicy`, the one retry budget;
   tasks never add their own.
2. Within one attempt, a migrate that is refused or whose `instanceMigrate` job fails falls
   back to a recreate in another region (the reclaiming region tried last), and only when
   that fails too is the attempt failed (`flows/sweeps/migration/action.py`).
3. Across sweeps, a failed attempt is tried again by a later sweep once the cool-down
   (`migration_cooldown_minutes`, default 30) has passed since the last attempt, until
   `migration_max_attempts` (default 3) attempts were made; a success resets the count.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import UTC, datetime, timedelta

from pydantic import BaseModel, Field

from clients.novita.instances import Instance, InstanceStatus
from flows.sweeps.outcomes import SkippedInstance
from store.models import DesiredState, LifecycleStatus, ManagedInstance
from store.statuses import BUSY, SERVING, STARTABLE

OWNED_BY_ANOTHER_RUN = BUSY - {LifecycleStatus.HEALTH_CHECKING, LifecycleStatus.MIGRATING}
"""A provisioning, start or stop owns the instance: not migrated (health checks and an
earlier migration that crashed mid-way are taken over)."""

CLAIMABLE = SERVING | STARTABLE | {LifecycleStatus.MIGRATING}
"""Our statuses a migration may begin from (the claim `→ migrating` is a compare-and-set;
`migrating`: a sweep that crashed mid-way, past the cool-down)."""


class MigrationCandidate(BaseModel):
    """A reclaimed instance the sweep migrates (or would, in a dry run).

    Example:
        >>> MigrationCandidate(instance_id="0123456789abcdef", name="a", region="AS-SGP-02",
        ...                    cluster_id="as-sgp-2", attempts=0,
        ...                    reclaimed_because="spot billing").region
        'AS-SGP-02'

    """

    instance_id: str
    name: str
    region: str | None = Field(default=None, description="Where it was reclaimed")
    cluster_id: str | None = None
    attempts: int = Field(description="Migration attempts before this one")
    reclaimed_because: str


class MigrationPlan(BaseModel):
    """The sweep's decisions: managed instances Novita reports exited, eligible, skipped."""

    exited: int = 0
    eligible: list[MigrationCandidate] = Field(default_factory=list)
    skipped: list[SkippedInstance] = Field(default_factory=list)


def reclaim_evidence(record: ManagedInstance, live: Instance) -> str | None:
    """Why an exited instance counts as reclaimed, or None when nothing says so.

    Example:
        >>> r = ManagedInstance(instance_id="0123456789abcdef", name="a", billing_mode="spot")
        >>> reclaim_evidence(r, Instance(id="0123456789abcdef", status="exited"))
        'spot billing'

    """
    if live.spot_status:
        return f"spotStatus {live.spot_status}"
    if live.spot_reclaim_time is not None:
        return f"spotReclaimTime {live.spot_reclaim_time.isoformat(timespec='seconds')}"
    if live.billing_mode == "spot" or record.billing_mode == "spot":
        return "spot billing"
    return None


def recheck_reclaimed(record: ManagedInstance | None, live: Instance | None) -> str | None:
    """Why a candidate must now be left alone, from a fresh read right before the claim.

    Example:
        >>> r = ManagedInstance(instance_id="0123456789abcdef", name="a", status="ready")
        >>> recheck_reclaimed(r, Instance(id="0123456789abcdef", status="running"))
        'Novita now reports running'
        >>> recheck_reclaimed(r, Instance(id="0123456789abcdef", status="exited"))

    """
    if live is None:
        return "Novita no longer knows it"
    if live.status != InstanceStatus.EXITED:
        return f"Novita now reports {live.status_raw or live.status}"
    if record is None or record.status == LifecycleStatus.DELETED:
        return "no longer managed"
    if record.desired_state != DesiredState.RUNNING:
        return f"desired state changed to {record.desired_state}"
    if record.status not in CLAIMABLE:
        return f"our status changed to {record.status}"
    return None


def decide_migration(
    record: ManagedInstance,
    live: Instance,
    now: datetime,
    cooldown_minutes: int,
    max_attempts: int,
) -> MigrationCandidate | SkippedInstance:
    """Decide one managed instance that Novita reports exited.

    Example:
        >>> from datetime import UTC, datetime
        >>> r = ManagedInstance(instance_id="0123456789abcdef", name="a", status="ready",
        ...                     billing_mode="spot")
        >>> live = Instance(id="0123456789abcdef", status="exited", cluster_name="AS-SGP-02")
        >>> decide_migration(r, live, datetime(2026, 1, 1, tzinfo=UTC), 30, 3).region
        'AS-SGP-02'

    """

    def skip(reason: str) -> SkippedInstance:
        return SkippedInstance(instance_id=record.instance_id, name=record.name, reason=reason)

    if record.desired_state != DesiredState.RUNNING:
        return skip(
            f"desired state is {record.desired_state} (stopped by a user or auto-stop): "
            "never migrated"
        )
    evidence = reclaim_evidence(record, live)
    if evidence is None:
        return skip("exited but not reclaimed (on-demand, no spot reclaim reported)")
    if record.status in OWNED_BY_ANOTHER_RUN:
        return skip(f"busy: our status is {record.status}")
    if record.status not in CLAIMABLE:
        return skip(f"our status is {record.status}")
    if record.migration_attempts >= max_attempts:
        return skip(
            f"gave up: {record.migration_attempts} migration attempt(s), max {max_attempts}"
        )
    if record.last_migration_at is not None:
        since = now - record.last_migration_at
        if since < timedelta(minutes=cooldown_minutes):
            ago = round(since.total_seconds() / 60, 1)
            return skip(
                f"cool-down: last attempt {ago:g} min ago (cool-down {cooldown_minutes} min)"
            )
    return MigrationCandidate(
        instance_id=record.instance_id,
        name=record.name,
        region=live.cluster_name or record.region,
        cluster_id=live.cluster_id or record.cluster_id,
        attempts=record.migration_attempts,
        reclaimed_because=evidence,
    )


def plan_migrations(
    records: Iterable[ManagedInstance],
    live: Sequence[Instance],
    now: datetime,
    cooldown_minutes: int,
    max_attempts: int,
    max_migrations: int,
) -> MigrationPlan:
    """Decide every managed instance Novita reports exited; at most `max_migrations` eligible.

    Eligible instances beyond `max_migrations` are skipped with that reason (the least
    recently attempted go first, so none is starved).

    Example:
        ```python
        plan = plan_migrations(await store.list_instances(), await list_instances(client),
                               utc_now(), cooldown_minutes=30, max_attempts=3, max_migrations=10)
        ```

    """
    by_id = {i.id: i for i in live}
    plan = MigrationPlan()
    eligible: list[tuple[ManagedInstance, MigrationCandidate]] = []
    for record in records:
        instance = by_id.get(record.instance_id)
        if instance is None or instance.status != InstanceStatus.EXITED:
            continue
        plan.exited += 1
        decision = decide_migration(record, instance, now, cooldown_minutes, max_attempts)
        if isinstance(decision, MigrationCandidate):
            eligible.append((record, decision))
        else:
            plan.skipped.append(decision)
    eligible.sort(key=lambda pair: (_attempted_at(pair[0]), pair[1].name))
    for index, (_, candidate) in enumerate(eligible):
        if index < max_migrations:
            plan.eligible.append(candidate)
        else:
            plan.skipped.append(
                SkippedInstance(
                    instance_id=candidate.instance_id,
                    name=candidate.name,
                    reason=f"max_migrations ({max_migrations}) reached in this run",
                )
            )
    return plan


def _attempted_at(record: ManagedInstance) -> datetime:
    """When the last migration was tried; never-tried ones sort first."""
    return record.last_migration_at or datetime.min.replace(tzinfo=UTC)
