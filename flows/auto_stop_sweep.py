"""The `auto-stop-sweep` flow: stop running machines nobody used for longer than their threshold.

One store query and ONE paginated Novita list call give the whole fleet; the rules of
`flows/auto_stop_rules.py` decide in memory which instances are idle; only those get tasks
(re-read, stop, wait for exited), at most `AUTO_STOP_CONCURRENCY` at a time, each failure
caught into the report so one instance never stops the sweep. A dry run reports without
stopping anything. The report is returned and published as the `auto-stop-sweep-report`
table artifact.
"""

from __future__ import annotations

from typing import Annotated

from prefect import flow, get_run_logger
from pydantic import BaseModel, Field

from flows.auto_stop_action import AutoStop
from flows.auto_stop_rules import IdleInstance, plan_auto_stop
from flows.flow_resources import FlowResources, open_flow_resources
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

AUTO_STOP_CONCURRENCY = 5
"""Idle instances stopped at once (each: re-read, stop, poll until exited)."""

REPORT_KEY = "auto-stop-sweep-report"

InactivityMinutes = Annotated[
    int | None,
    Field(
        ge=1,
        le=10080,
        description="Default idle minutes before a stop for this run (instances with their "
        "own auto_stop_minutes keep it); empty = the policies' auto_stop_minutes (20)",
    ),
]


class AutoStopReport(BaseModel):
    """What `auto-stop-sweep` returns (and publishes as the `auto-stop-sweep-report` table)."""

    checked: int = Field(description="Instances looked at: managed records + running unmanaged")
    eligible: list[IdleInstance] = Field(
        default_factory=list, description="Idle for at least their threshold when decided"
    )
    stopped: list[str] = Field(default_factory=list, description="Ids stopped by this run")
    skipped: list[SkippedInstance] = Field(default_factory=list)
    errors: list[InstanceError] = Field(default_factory=list)
    dry_run: bool
    threshold_minutes: int = Field(description="The default threshold this run applied")


async def _stop_all(res: FlowResources, idle: list[IdleInstance], report: AutoStopReport) -> None:
    logger = get_run_logger()

    async def stop(candidate: IdleInstance) -> None:
        await AutoStop(res, candidate).run()

    done = await act_on_each(
        idle, AUTO_STOP_CONCURRENCY, stop, "Auto-stop", report.skipped, report.errors
    )
    for candidate, _ in done:
        logger.info(
            "Auto-stopped %s (%s): idle %g min, threshold %d min",
            candidate.name,
            candidate.instance_id,
            candidate.idle_minutes,
            candidate.threshold_minutes,
        )
        report.stopped.append(candidate.instance_id)


def _rows(report: AutoStopReport) -> list[SweepRow]:
    stopped = set(report.stopped)
    failed = {e.instance_id: e.error for e in report.errors}
    rows: list[SweepRow] = []
    for idle in report.eligible:
        if idle.instance_id in stopped:
            decision = "stopped"
        elif idle.instance_id in failed:
            decision = "error"
        elif report.dry_run:
            decision = "would stop (dry run)"
        else:
            continue  # left alone after the re-read: listed with the skipped ones
        detail = (
            f"idle {idle.idle_minutes:g} min, threshold {idle.threshold_minutes} min"
            + ("" if idle.managed else ", unmanaged")
            + (f"; {failed[idle.instance_id]}" if idle.instance_id in failed else "")
        )
        rows.append(
            SweepRow(
                instance_id=idle.instance_id,
                name=idle.name or "-",
                decision=decision,
                detail=detail,
            )
        )
    rows += [
        SweepRow(instance_id=s.instance_id, name=s.name or "-", decision="skipped", detail=s.reason)
        for s in report.skipped
    ]
    return rows


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
    mark-used signal, or the time the instance became ready this run, whichever is later.
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
    logger = get_run_logger()
    async with open_flow_resources(
        credentials_block, webhook_settings_block, policies_block
    ) as res:
        threshold = (
            inactivity_minutes if inactivity_minutes is not None else res.policies.auto_stop_minutes
        )
        records = await res.store.list_instances()
        live = await list_instances(res.client)
        plan = plan_auto_stop(records, live, utc_now(), threshold, include_unmanaged)
        logger.info(
            "Checked %d instance(s) (%d managed, Novita lists %d): %d idle, default threshold "
            "%d min%s",
            plan.checked,
            len(records),
            len(live),
            len(plan.idle),
            threshold,
            " (dry run)" if dry_run else "",
        )
        for skipped in plan.skipped:
            logger.info("Skip %s (%s): %s", skipped.name, skipped.instance_id, skipped.reason)
        for idle in plan.idle:
            logger.info(
                "%s %s (%s): idle %g min since %s, threshold %d min%s",
                "Would stop" if dry_run else "Stop",
                idle.name,
                idle.instance_id,
                idle.idle_minutes,
                idle.last_used_at.isoformat(timespec="seconds"),
                idle.threshold_minutes,
                "" if idle.managed else " (unmanaged)",
            )
        report = AutoStopReport(
            checked=plan.checked,
            eligible=plan.idle,
            skipped=list(plan.skipped),
            dry_run=dry_run,
            threshold_minutes=threshold,
        )
        if not dry_run and plan.idle:
            await _stop_all(res, plan.idle, report)
    summary = (
        f"Auto-stop sweep{' (dry run)' if dry_run else ''}: {report.checked} checked, "
        f"{len(report.eligible)} idle, {len(report.stopped)} stopped, "
        f"{len(report.skipped)} skipped, {len(report.errors)} error(s); default threshold "
        f"{threshold} min."
    )
    await publish_sweep_table(REPORT_KEY, _rows(report), summary)
    logger.info(summary)
    return report
