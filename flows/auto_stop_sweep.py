"""The `auto-stop-sweep` flow: stop running machines nobody used for longer than their threshold.

One store query and ONE paginated Novita list call give the whole fleet; the rules of
`flows/sweeps/auto_stop/rules.py` decide in memory which instances are idle; only those get
tasks (re-read, stop, wait for exited), at most `AUTO_STOP_CONCURRENCY` at a time, each failure
caught into the report so one instance never stops the sweep. A dry run reports without
stopping anything. The report is returned and published as the `auto-stop-sweep-report`
table artifact.
"""

# No `from __future__ import annotations` in flow modules: a served flow's parameter types
# must resolve in the process that runs it (see flows/common/parameters.py).

from typing import Annotated

from prefect import flow
from pydantic import Field

from flows.common.parameters import (
    CredentialsBlock,
    InactivityMinutes,
    PoliciesBlock,
    WebhookSettingsBlock,
)
from flows.common.resources import open_flow_resources
from flows.common.use_events import newest_use_events
from flows.instances.mark_used import MARK_USED_CLOCK_SKEW
from flows.sweeps.auto_stop.report import (
    REPORT_KEY,
    AutoStopReport,
    log_plan,
    report_rows,
    stop_all,
)
from flows.sweeps.auto_stop.rules import plan_auto_stop, use_event_lookback
from flows.sweeps.report import publish_sweep_report
from store import utc_now
from tasks.novita_instances import list_instances

__all__ = ["REPORT_KEY", "AutoStopReport", "auto_stop_sweep"]


@flow(name="auto-stop-sweep", persist_result=True)
async def auto_stop_sweep(
    dry_run: Annotated[
        bool, Field(description="Only report what would be stopped; stop nothing")
    ] = False,
    inactivity_minutes: InactivityMinutes = None,
    include_unmanaged: Annotated[
        bool,
        Field(description="Also stop idle running instances the store does not manage"),
    ] = False,
    credentials_block: CredentialsBlock = None,
    webhook_settings_block: WebhookSettingsBlock = None,
    policies_block: PoliciesBlock = None,
) -> AutoStopReport:
    """Stop running instances whose last use is older than their auto-stop threshold.

    Managed instances whose desired state is running are checked against their own
    `auto_stop_minutes` (0 = never), else the default threshold. Last use is the latest
    mark-used signal or `novita.instance.used` Prefect event (the newest of each instance,
    read in one bulk query), or the time it became ready this run, whichever is latest.
    Instances in the middle of a provisioning, start, migration or stop are never touched.
    The live status is re-read right before each stop. A stopped instance gets desired
    state `stopped`, an `auto_stop` history entry and an `instance.auto_stopped` webhook
    (data: idleMinutes, threshold, lastUsedAt); the policies' notification blocks are told.

    Args:
        dry_run: Only report what would be stopped; no stop call, no store change.
        inactivity_minutes: Default idle minutes before a stop for this run, 1-10080;
            instances with their own auto_stop_minutes keep theirs. Empty: the policies'
            auto_stop_minutes (20).
        include_unmanaged: Also stop running instances of the account that the store does not
            manage, idle since their last start (no webhook: they have no owner URL).
        credentials_block: Saved NovitaCredentials block (default: "default", else env).
        webhook_settings_block: Saved WebhookSettings block (default: "default", else env).
        policies_block: Saved NovitaPolicies block (default: "default", else built-ins).

    Example:
        ```python
        import asyncio
        from flows.auto_stop_sweep import auto_stop_sweep

        report = asyncio.run(auto_stop_sweep(dry_run=True, inactivity_minutes=30))
        print([i.name for i in report.eligible])
        ```

    """
    async with open_flow_resources(
        credentials_block, webhook_settings_block, policies_block
    ) as res:
        threshold = (
            inactivity_minutes if inactivity_minutes is not None else res.policies.auto_stop_minutes
        )
        records = await res.store.list_instances()
        live = await list_instances(res.client)
        now = utc_now()
        # Events older than the longest threshold cannot keep anything running: not read.
        since = now - use_event_lookback(records, threshold)
        used = await newest_use_events(since, now + MARK_USED_CLOCK_SKEW)
        plan = plan_auto_stop(records, live, now, threshold, include_unmanaged, used)
        log_plan(plan, len(records), len(live), threshold, dry_run)
        report = AutoStopReport(
            checked=plan.checked,
            eligible=plan.idle,
            skipped=list(plan.skipped),
            dry_run=dry_run,
            threshold_minutes=threshold,
        )
        if not dry_run and plan.idle:
            await stop_all(res, plan.idle, report, now)
    await publish_sweep_report(REPORT_KEY, report_rows(report), report.summary())
    return report
