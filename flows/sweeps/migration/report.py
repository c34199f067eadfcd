"""What `migration-sweep` returns and shows: the report, its table rows, the recoveries made."""

from __future__ import annotations

from pydantic import BaseModel, Field

from flows.common.resources import FlowResources
from flows.common.run_logger import run_logger
from flows.sweeps.migration.action import Migration, MigrationOutcome
from flows.sweeps.migration.rules import MigrationCandidate, MigrationPlan
from flows.sweeps.report import InstanceError, SkippedInstance, SweepRow, log_skipped
from flows.sweeps.runner import act_on_each

REPORT_KEY = "migration-sweep-report"


class MigrationReport(BaseModel):
    """What `migration-sweep` returns (and publishes as the `migration-sweep-report` table)."""

    exited: int = Field(description="Managed instances Novita reports exited")
    eligible: list[MigrationCandidate] = Field(
        default_factory=list, description="Reclaimed, wanted running, within the limits"
    )
    migrated: list[MigrationOutcome] = Field(
        default_factory=list, description="Migrated in place and ready again"
    )
    recreated: list[MigrationOutcome] = Field(
        default_factory=list, description="Recreated elsewhere (new id) and ready"
    )
    skipped: list[SkippedInstance] = Field(default_factory=list)
    errors: list[InstanceError] = Field(default_factory=list)
    dry_run: bool
    cooldown_minutes: int
    max_attempts: int

    def summary(self) -> str:
        """One line: what the sweep found and did.

        Example:
            >>> MigrationReport(exited=1, dry_run=False, cooldown_minutes=30,
            ...                 max_attempts=3).summary()[:35]
            'Migration sweep: 1 exited, 0 eligib'

        """
        return (
            f"Migration sweep{' (dry run)' if self.dry_run else ''}: {self.exited} exited, "
            f"{len(self.eligible)} eligible, {len(self.migrated)} migrated, "
            f"{len(self.recreated)} recreated, {len(self.skipped)} skipped, "
            f"{len(self.errors)} failed (cool-down {self.cooldown_minutes} min, "
            f"max {self.max_attempts} attempts)."
        )


async def migrate_all(
    res: FlowResources,
    candidates: list[MigrationCandidate],
    concurrency: int,
    report: MigrationReport,
) -> None:
    """Bring back every candidate, `concurrency` at a time; outcomes go into `report`.

    Example:
        ```python
        await migrate_all(res, plan.eligible, 5, report)
        ```

    """

    async def migrate(candidate: MigrationCandidate) -> MigrationOutcome:
        return await Migration(res, candidate).run()

    done = await act_on_each(
        candidates, concurrency, migrate, "Migration", report.skipped, report.errors
    )
    for _, outcome in done:
        target = report.migrated if outcome.method == "migrate" else report.recreated
        target.append(outcome)


def log_plan(
    plan: MigrationPlan, managed: int, listed: int, max_attempts: int, dry_run: bool
) -> None:
    """Log the sweep's decisions: the counts, each skip with its reason, each candidate.

    Example:
        >>> log_plan(MigrationPlan(), 0, 0, 3, dry_run=True)

    """
    logger = run_logger(__name__)
    logger.info(
        "%d managed instance(s) of %d exited at Novita (which lists %d): %d to migrate%s",
        plan.exited,
        managed,
        listed,
        len(plan.eligible),
        " (dry run)" if dry_run else "",
    )
    log_skipped(plan.skipped)
    for candidate in plan.eligible:
        logger.info(
            "%s %s (%s): reclaimed in %s (%s), attempt %d of %d",
            "Would migrate" if dry_run else "Migrate",
            candidate.name,
            candidate.instance_id,
            candidate.region,
            candidate.reclaimed_because,
            candidate.attempts + 1,
            max_attempts,
        )


def report_rows(report: MigrationReport) -> list[SweepRow]:
    """The rows of the `migration-sweep-report` table: outcomes, failures, then the skipped.

    Example:
        >>> report_rows(MigrationReport(exited=0, dry_run=False, cooldown_minutes=30,
        ...                             max_attempts=3))
        []

    """
    rows = [
        SweepRow(
            instance_id=o.instance_id,
            name=o.name,
            decision="migrated" if o.method == "migrate" else "recreated",
            detail=f"ready in {o.region or '?'}"
            + (f" as {o.new_instance_id}" if o.new_instance_id != o.instance_id else ""),
        )
        for o in [*report.migrated, *report.recreated]
    ]
    rows += [
        SweepRow(instance_id=e.instance_id, name=e.name or "-", decision="failed", detail=e.error)
        for e in report.errors
    ]
    if report.dry_run:
        rows += [
            SweepRow(
                instance_id=c.instance_id,
                name=c.name,
                decision="would migrate (dry run)",
                detail=f"reclaimed in {c.region or '?'} ({c.reclaimed_because}); "
                f"{c.attempts} earlier attempt(s)",
            )
            for c in report.eligible
        ]
    rows += [
        SweepRow(instance_id=s.instance_id, name=s.name or "-", decision="skipped", detail=s.reason)
        for s in report.skipped
    ]
    return rows
