"""The `migration-sweep` flow: bring back spot machines the cloud reclaimed.

One store query and ONE paginated Novita list call give the fleet;
`flows/sweeps/migration/rules.py` decides in memory which exited instances were reclaimed
and may be migrated (desired state running, outside the cool-down, attempts left); only
those get tasks, at most `concurrency` at a time and `max_migrations` per run
(`flows/sweeps/migration/action.py`: migrate, else recreate elsewhere). A failure on one
instance is caught into the report; the sweep goes on. The report is returned and
published as the `migration-sweep-report` table artifact.
"""

# No `from __future__ import annotations` in flow modules: a served flow's parameter types
# must resolve in the process that runs it (see flows/common/parameters.py).

from typing import Annotated

from prefect import flow
from pydantic import Field

from flows.common.parameters import (
    CooldownMinutes,
    CredentialsBlock,
    InstanceIds,
    MaxAttempts,
    MaxMigrations,
    MigrationConcurrency,
    PoliciesBlock,
    WebhookSettingsBlock,
)
from flows.common.resources import open_flow_resources
from flows.sweeps.migration.events import announce_failed_migrations
from flows.sweeps.migration.report import (
    REPORT_KEY,
    MigrationReport,
    log_plan,
    migrate_all,
    report_rows,
)
from flows.sweeps.migration.rules import plan_migrations
from flows.sweeps.report import publish_sweep_report
from store import utc_now
from tasks.novita_instances import list_instances

__all__ = ["REPORT_KEY", "MigrationReport", "migration_sweep"]

DEFAULT_MAX_MIGRATIONS = 10
DEFAULT_CONCURRENCY = 5


@flow(name="migration-sweep", persist_result=True)
async def migration_sweep(
    dry_run: Annotated[
        bool, Field(description="Only report what would be migrated; migrate nothing")
    ] = False,
    max_migrations: MaxMigrations = DEFAULT_MAX_MIGRATIONS,
    concurrency: MigrationConcurrency = DEFAULT_CONCURRENCY,
    cooldown_minutes: CooldownMinutes = None,
    max_attempts: MaxAttempts = None,
    credentials_block: CredentialsBlock = None,
    webhook_settings_block: WebhookSettingsBlock = None,
    policies_block: PoliciesBlock = None,
    instance_ids: InstanceIds = None,
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
        instance_ids: Only these managed instances (the reclaim trigger passes the one
            `reclaim-watch` announced); empty = every managed instance.

    Example:
        ```python
        import asyncio
        from flows.migration_sweep import migration_sweep

        report = asyncio.run(migration_sweep(max_migrations=5))
        print([o.new_instance_id for o in report.recreated])
        ```

    """
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
        if instance_ids:
            wanted = set(instance_ids)
            records = [r for r in records if r.instance_id in wanted]
        live = await list_instances(res.client)
        plan = plan_migrations(records, live, utc_now(), cooldown, attempts, max_migrations)
        log_plan(plan, len(records), len(live), attempts, dry_run)
        report = MigrationReport(
            exited=plan.exited,
            eligible=plan.eligible,
            skipped=list(plan.skipped),
            dry_run=dry_run,
            cooldown_minutes=cooldown,
            max_attempts=attempts,
        )
        if not dry_run and plan.eligible:
            await migrate_all(res, plan.eligible, concurrency, report)
            announce_failed_migrations(report.errors)
    await publish_sweep_report(REPORT_KEY, report_rows(report), report.summary())
    return report
