"""What `auto-stop-sweep` returns and shows: the report, its table rows, the stops it made."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field

from flows.common.resources import FlowResources
from flows.common.run_logger import run_logger
from flows.sweeps.auto_stop.action import AutoStop
from flows.sweeps.auto_stop.rules import AutoStopPlan, IdleInstance
from flows.sweeps.report import InstanceError, SkippedInstance, SweepRow, log_skipped
from flows.sweeps.runner import act_on_each

AUTO_STOP_CONCURRENCY = 5
"""Idle instances stopped at once (each: re-read, stop, poll until exited)."""

REPORT_KEY = "auto-stop-sweep-report"


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

    def summary(self) -> str:
        """One line: what the sweep looked at and did.

        Example:
            >>> AutoStopReport(checked=3, dry_run=True, threshold_minutes=20).summary()[:40]
            'Auto-stop sweep (dry run): 3 checked, 0 '

        """
        return (
            f"Auto-stop sweep{' (dry run)' if self.dry_run else ''}: {self.checked} checked, "
            f"{len(self.eligible)} idle, {len(self.stopped)} stopped, "
            f"{len(self.skipped)} skipped, {len(self.errors)} error(s); default threshold "
            f"{self.threshold_minutes} min."
        )


async def stop_all(
    res: FlowResources, idle: list[IdleInstance], report: AutoStopReport, decided_at: datetime
) -> None:
    """Stop every idle instance, a few at a time; stops, skips and errors go into `report`.

    Example:
        ```python
        await stop_all(res, plan.idle, report, now)
        ```

    """
    logger = run_logger(__name__)

    async def stop(candidate: IdleInstance) -> None:
        await AutoStop(res, candidate, decided_at).run()

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


def log_plan(plan: AutoStopPlan, managed: int, listed: int, threshold: int, dry_run: bool) -> None:
    """Log the sweep's decisions: the counts, each skip with its reason, each idle instance.

    Example:
        >>> log_plan(AutoStopPlan(checked=0), 0, 0, 20, dry_run=True)

    """
    logger = run_logger(__name__)
    logger.info(
        "Checked %d instance(s) (%d managed, Novita lists %d): %d idle, default threshold %d min%s",
        plan.checked,
        managed,
        listed,
        len(plan.idle),
        threshold,
        " (dry run)" if dry_run else "",
    )
    log_skipped(plan.skipped)
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


def report_rows(report: AutoStopReport) -> list[SweepRow]:
    """The rows of the `auto-stop-sweep-report` table: acted on first, then the skipped.

    Example:
        >>> report_rows(AutoStopReport(checked=0, dry_run=True, threshold_minutes=20))
        []

    """
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
