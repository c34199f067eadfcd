"""The `stop-all` flow: stop every running managed instance (filtered), e.g. when over budget.

One store query and ONE paginated Novita list call give the whole account; the rules of
`flows/sweeps/stop_all/rules.py` decide in memory which instances match and may be stopped.
A dry run lists them. A real run needs `confirm=true`: without it nothing is stopped, the
list is still logged and published, and the run ends Failed saying why. With it, each
instance is stopped through the very path of `stop-instance` (`flows/sweeps/stop_all/
action.py`): desired state `stopped` (so no sweep brings it back), history,
`instance.stopped` webhook; at most `concurrency` at a time, one failure never stops the
others. The report is returned and published as the `stop-all-report` table artifact, and
the team's notification blocks get one message with the total $/h saved.
"""

# No `from __future__ import annotations` in flow modules: a served flow's parameter types
# must resolve in the process that runs it (see flows/common/parameters.py).

from prefect import flow
from prefect.states import Failed

from flows.common.parameters import (
    ConfirmStopAll,
    CredentialsBlock,
    IncludeUnmanaged,
    NamePrefix,
    OperationDeadline,
    PoliciesBlock,
    RegionFilter,
    StopAllDryRun,
    StopConcurrency,
    WebhookSettingsBlock,
)
from flows.common.resources import open_flow_resources
from flows.sweeps.report import publish_sweep_report
from flows.sweeps.stop_all.report import (
    REPORT_KEY,
    StopAllRefusedError,
    StopAllReport,
    log_plan,
    new_report,
    report_rows,
    stop_each,
    tell_humans,
)
from flows.sweeps.stop_all.rules import StopAllFilters, plan_stop_all
from tasks.novita_instances import list_instances

__all__ = ["REPORT_KEY", "StopAllRefusedError", "StopAllReport", "stop_all_flow"]


@flow(name="stop-all", persist_result=True)
async def stop_all_flow(
    name_prefix: NamePrefix = None,
    regions: RegionFilter = None,
    include_unmanaged: IncludeUnmanaged = False,
    dry_run: StopAllDryRun = False,
    confirm: ConfirmStopAll = False,
    concurrency: StopConcurrency = 5,
    deadline_minutes: OperationDeadline = 10,
    credentials_block: CredentialsBlock = None,
    webhook_settings_block: WebhookSettingsBlock = None,
    policies_block: PoliciesBlock = None,
) -> StopAllReport:
    """Stop every running managed instance that matches; `confirm=true` to act.

    Args:
        name_prefix: Only instances whose name starts with this.
        regions: Only instances in these regions (names like US-CA-06 or ids like us-ca-6).
        include_unmanaged: Also stop running instances the store does not manage.
        dry_run: Only list what would be stopped (no confirm needed).
        confirm: Must be true for a real run; without it nothing is stopped and the run
            ends Failed saying so.
        concurrency: Stops running at the same time, 1-50.
        deadline_minutes: How long each stop waits for Novita to report it exited.
        credentials_block: Saved NovitaCredentials block (default: "default", else env).
        webhook_settings_block: Saved WebhookSettings block (default: "default", else env).
        policies_block: Saved NovitaPolicies block (default: "default", else built-ins).

    Returns:
        A `StopAllReport` (a Failed state carrying `StopAllRefusedError` without confirm).

    Example:
        ```python
        import asyncio
        from flows.stop_all import stop_all_flow

        report = asyncio.run(stop_all_flow(name_prefix="trainer-", dry_run=True))
        print([c.name for c in report.matched])
        report = asyncio.run(stop_all_flow(name_prefix="trainer-", confirm=True))
        print(report.saved_per_hour)
        ```

    """
    filters = StopAllFilters(
        name_prefix=name_prefix, regions=regions, include_unmanaged=include_unmanaged
    )
    async with open_flow_resources(
        credentials_block, webhook_settings_block, policies_block
    ) as res:
        records = await res.store.list_instances()
        live = await list_instances(res.client)
        plan = plan_stop_all(records, live, filters)
        report = new_report(plan, dry_run=dry_run, confirmed=confirm)
        log_plan(plan, report)
        if report.acted and plan.to_stop:
            await stop_each(res, plan, report, concurrency, deadline_minutes)
            await tell_humans(res, report)
    await publish_sweep_report(REPORT_KEY, report_rows(report), report.summary())
    if not dry_run and not confirm:
        # A Failed state, not a raise: the CLI's --watch shows the reason, not a traceback.
        message = report.summary()
        return Failed(message=message, data=StopAllRefusedError(message))  # type: ignore[return-value]
    return report
