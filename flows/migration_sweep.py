"""The `migration-sweep` flow: bring back spot machines the cloud reclaimed.

One store query and ONE paginated Novita list call give the fleet; `flows/migration_rules.py`
decides in memory which exited instances were reclaimed and may be migrated (desired state
running, outside the cool-down, attempts left); only those get tasks, at most `concurrency`
at a time and `max_migrations` per run (`flows/instance_migration.py`: migrate, else
recreate elsewhere). A failure on one instance is caught into the report; the sweep goes on.
The report is returned and published as the `migration-sweep-report` table artifact.
"""

from __future__ import annotations

from typing import Annotated

from prefect import flow, get_run_logger
from pydantic import BaseModel, Field

from flows.flow_resources import FlowResources, open_flow_resources
from flows.instance_migration import Migration, MigrationOutcome
from flows.migration_rules import MigrationCandidate, plan_migrations
from flows.provision_parameters import CredentialsBlock, PoliciesBlock, WebhookSettingsBlock
from flows.sweep_report import (
    InstanceError,
    SkippedInstance,
    SweepRow,
    act_on_each,
    publish_sweep_table,
)
from store import utc_now
from tasks.novita_instances import list_instances

REPORT_KEY = "migration-sweep-report"
DEFAULT_MAX_MIGRATIONS = 10
DEFAULT_CONCURRENCY = 5


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


async def _migrate_all(
    res: FlowResources,
    candidates: list[MigrationCandidate],
    concurrency: int,
    report: MigrationReport,
) -> None:
    async def migrate(candidate: MigrationCandidate) -> MigrationOutcome:
        return await Migration(res, candidate).run()

    done = await act_on_each(
        candidates, concurrency, migrate, "Migration", report.skipped, report.errors
    )
    for _, outcome in done:
        target = report.migrated if outcome.method == "migrate" else report.recreated
        target.append(outcome)


def _rows(report: MigrationReport) -> list[SweepRow]:
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


@flow(name="migration-sweep", persist_result=True)
async def migration_sweep(
    dry_run: Annotated[
        bool, Field(description="Only report what would be migrated; migrate nothing")
    ] = False,
    max_migrations: Annotated[
        int, Field(ge=0, le=1000, description="At most this many migrations in one run")
    ] = DEFAULT_MAX_MIGRATIONS,
    concurrency: Annotated[
        int, Field(ge=1, le=50, description="Migrations running at once")
    ] = DEFAULT_CONCURRENCY,
    cooldown_minutes: Annotated[
        int | None,
        Field(
            ge=0,
            le=10080,
            description="Minutes between two attempts on one instance; "
            "empty = the policies' migration_cooldown_minutes (30)",
        ),
    ] = None,
    max_attempts: Annotated[
        int | None,
        Field(
            ge=1,
            le=20,
            description="Attempts per instance before giving up; "
            "empty = the policies' migration_max_attempts (3)",
        ),
    ] = None,
    credentials_block: CredentialsBlock = None,
    webhook_settings_block: WebhookSettingsBlock = None,
    policies_block: PoliciesBlock = None,
) -> MigrationReport:
    """Migrate spot instances Novita reclaimed; recreate them elsewhere when migrate fails.

    A managed instance Novita reports `exited` whose desired state is running and that was
    reclaimed (spot billing, or spotStatus / spotReclaimTime set) is migrated: migrate →
    running → health check → ready → `instance.migrated`. When the migrate is refused or its
    job fails, it is recreated from its stored request, the reclaiming region tried last,
    under the same name; the old instance is deleted and the record moves to the new id.
    Every way failed: status `failed`, `instance.migration_failed`. Instances stopped by a
    user or auto-stop (desired state stopped) are never migrated; a cool-down and a maximum
    of attempts per instance stop thrashing.

    Args:
        dry_run: Only report what would be migrated; no migrate call, no store change.
        max_migrations: At most this many migrations in one run, 0-1000 (the rest wait for
            the next run; the least recently attempted go first).
        concurrency: Migrations running at once, 1-50.
        cooldown_minutes: Minutes between two attempts on one instance, 0-10080; empty =
            the policies' migration_cooldown_minutes (30).
        max_attempts: Attempts per instance before the sweep gives up on it, 1-20; empty =
            the policies' migration_max_attempts (3). A success resets the count.
        credentials_block: Saved NovitaCredentials block (default: "default", else env).
        webhook_settings_block: Saved WebhookSettings block (default: "default", else env).
        policies_block: Saved NovitaPolicies block (default: "default", else built-ins).

    Example:
        ```python
        import asyncio
        from flows.migration_sweep import migration_sweep

        report = asyncio.run(migration_sweep(max_migrations=5))
        print([o.new_instance_id for o in report.recreated])
        ```

    """
    logger = get_run_logger()
    async with open_flow_resources(
        credentials_block, webhook_settings_block, policies_block
    ) as res:
        policies = res.policies
        cooldown = (
            cooldown_minutes
            if cooldown_minutes is not None
            else policies.migration_cooldown_minutes
        )
        attempts = max_attempts if max_attempts is not None else policies.migration_max_attempts
        records = await res.store.list_instances()
        live = await list_instances(res.client)
        plan = plan_migrations(records, live, utc_now(), cooldown, attempts, max_migrations)
        logger.info(
            "%d managed instance(s) of %d exited at Novita (which lists %d): %d to migrate%s",
            plan.exited,
            len(records),
            len(live),
            len(plan.eligible),
            " (dry run)" if dry_run else "",
        )
        for skipped in plan.skipped:
            logger.info("Skip %s (%s): %s", skipped.name, skipped.instance_id, skipped.reason)
        for candidate in plan.eligible:
            logger.info(
                "%s %s (%s): reclaimed in %s (%s), attempt %d of %d",
                "Would migrate" if dry_run else "Migrate",
                candidate.name,
                candidate.instance_id,
                candidate.region,
                candidate.reclaimed_because,
                candidate.attempts + 1,
                attempts,
            )
        report = MigrationReport(
            exited=plan.exited,
            eligible=plan.eligible,
            skipped=list(plan.skipped),
            dry_run=dry_run,
            cooldown_minutes=cooldown,
            max_attempts=attempts,
        )
        if not dry_run and plan.eligible:
            await _migrate_all(res, plan.eligible, concurrency, report)
    summary = (
        f"Migration sweep{' (dry run)' if dry_run else ''}: {report.exited} exited, "
        f"{len(report.eligible)} eligible, {len(report.migrated)} migrated, "
        f"{len(report.recreated)} recreated, {len(report.skipped)} skipped, "
        f"{len(report.errors)} failed (cool-down {cooldown} min, max {attempts} attempts)."
    )
    await publish_sweep_table(REPORT_KEY, _rows(report), summary)
    logger.info(summary)
    return report
