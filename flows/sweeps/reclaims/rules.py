"""Which reclaimed instances the watcher announces: exactly those a migration would take now.

The watcher (`reclaim-watch`, every minute) must not decide differently from the migration
sweep it wakes up, so it asks the same rules (`flows/sweeps/migration/rules.py`) with no
cap on the count: a managed instance Novita reports `exited`, reclaimed (spot), wanted
running, not owned by another run, outside its cool-down and with attempts left. An
instance a migration already claimed (`migrating`) or just tried is in its cool-down, so it
is announced once per attempt, not once per minute; one whose triggered sweep was dropped
(the sweep allows one run at a time) is still eligible, so the next minute announces it
again. Nothing here calls Novita or Prefect.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from pydantic import BaseModel, Field

from clients.novita.instances import Instance
from flows.sweeps.migration.rules import plan_migrations
from flows.sweeps.outcomes import SkippedInstance
from store.models import ManagedInstance


class ReclaimNotice(BaseModel):
    """A reclaimed instance to announce with `novita.instance.reclaimed`.

    Example:
        >>> ReclaimNotice(instance_id="0123456789abcdef", name="a", region="AS-SGP-02",
        ...               reclaimed_because="spotStatus terminated").instance_id
        '0123456789abcdef'

    """

    instance_id: str
    name: str
    region: str | None = None
    reclaimed_because: str
    attempts: int = Field(default=0, description="Migration attempts already made")


class ReclaimFindings(BaseModel):
    """What one watch found: exited managed instances, those to announce, the rest (why)."""

    exited: int = 0
    reclaimed: list[ReclaimNotice] = Field(default_factory=list)
    skipped: list[SkippedInstance] = Field(default_factory=list)


def find_reclaims(
    records: Sequence[ManagedInstance],
    live: Sequence[Instance],
    now: datetime,
    cooldown_minutes: int,
    max_attempts: int,
) -> ReclaimFindings:
    """The reclaimed instances a migration would take now (the migration rules, no cap).

    Example:
        >>> from datetime import UTC, datetime
        >>> r = ManagedInstance(instance_id="0123456789abcdef", name="a", status="ready",
        ...                     billing_mode="spot")
        >>> live = [Instance(id="0123456789abcdef", status="exited", spot_status="terminated")]
        >>> found = find_reclaims([r], live, datetime(2026, 1, 1, tzinfo=UTC), 30, 3)
        >>> [n.reclaimed_because for n in found.reclaimed]
        ['spotStatus terminated']

    """
    plan = plan_migrations(
        records, live, now, cooldown_minutes, max_attempts, max_migrations=len(records)
    )
    notices = [
        ReclaimNotice(
            instance_id=c.instance_id,
            name=c.name,
            region=c.region,
            reclaimed_because=c.reclaimed_because,
            attempts=c.attempts,
        )
        for c in plan.eligible
    ]
    return ReclaimFindings(exited=plan.exited, reclaimed=notices, skipped=plan.skipped)
