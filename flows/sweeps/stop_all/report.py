"""What `stop-all` returns and shows: the report, its table rows, the stops, the humans' message."""

from __future__ import annotations

from decimal import Decimal

from pydantic import BaseModel, Field

from flows.common.dashboard_format import format_usd
from flows.common.notifications import notify_humans
from flows.common.resources import FlowResources
from flows.common.run_logger import run_logger
from flows.sweeps.report import InstanceError, SkippedInstance, SweepRow, log_skipped
from flows.sweeps.runner import act_on_each
from flows.sweeps.stop_all.action import stop_candidate
from flows.sweeps.stop_all.rules import StopAllFilters, StopAllPlan, StopCandidate

REPORT_KEY = "stop-all-report"

CONFIRM_MISSING = "confirm=true missing"

MAX_NAMED = 50
"""Machines named one by one in the humans' message; the report table lists them all."""


class StopAllRefusedError(RuntimeError):
    """A real run of `stop-all` without `confirm=true`: nothing was stopped."""


class StopAllReport(BaseModel):
    """What `stop-all` returns (and publishes as the `stop-all-report` table)."""

    filters: StopAllFilters
    dry_run: bool
    confirmed: bool
    matched: list[StopCandidate] = Field(
        default_factory=list, description="Matching instances to stop (or that would be)"
    )
    stopped: list[str] = Field(default_factory=list, description="Ids stopped by this run")
    already_stopped: list[str] = Field(
        default_factory=list, description="Ids Novita already reported exited (no stop call)"
    )
    skipped: list[SkippedInstance] = Field(default_factory=list)
    errors: list[InstanceError] = Field(default_factory=list)
    not_running: int = Field(default=0, description="Matching instances not running: untouched")
    saved_per_hour: Decimal = Field(
        default=Decimal(0), description="USD/h of the stopped instances with a recorded price"
    )
    unpriced: int = Field(default=0, description="Stopped instances without a recorded price")

    @property
    def acted(self) -> bool:
        """True when this run was allowed to stop anything."""
        return self.confirmed and not self.dry_run

    def summary(self) -> str:
        """One line: what matched and what was done.

        Example:
            >>> report = StopAllReport(filters=StopAllFilters(), dry_run=True, confirmed=False)
            >>> report.summary()[:50]
            'Stop-all (dry run; any name, any region, managed o'

        """
        scope = self.filters.describe()
        counts = f"{len(self.skipped)} skipped, {self.not_running} not running"
        if self.dry_run:
            return f"Stop-all (dry run; {scope}): {len(self.matched)} to stop, {counts}."
        if not self.confirmed:
            return (
                f"Stop-all refused ({CONFIRM_MISSING}; {scope}): nothing was stopped; "
                f"{len(self.matched)} would be stopped, {counts}. Run again with confirm=true "
                "(or dry_run=true to only list them)."
            )
        unpriced = f" (+{self.unpriced} without a recorded price)" if self.unpriced else ""
        return (
            f"Stop-all ({scope}): {len(self.stopped)} stopped, "
            f"{len(self.already_stopped)} already stopped, {counts}, "
            f"{len(self.errors)} error(s); saves {format_usd(self.saved_per_hour)}/h{unpriced}."
        )


def new_report(plan: StopAllPlan, dry_run: bool, confirmed: bool) -> StopAllReport:
    """The report of a plan before anything is done.

    Example:
        >>> new_report(StopAllPlan(filters=StopAllFilters()), True, False).matched
        []

    """
    return StopAllReport(
        filters=plan.filters,
        dry_run=dry_run,
        confirmed=confirmed,
        matched=list(plan.to_stop),
        skipped=list(plan.skipped),
        not_running=plan.not_running,
    )


async def stop_each(
    res: FlowResources,
    plan: StopAllPlan,
    report: StopAllReport,
    concurrency: int,
    deadline_minutes: float,
) -> None:
    """Stop every candidate, `concurrency` at a time; stops, skips and errors go into `report`.

    Example:
        ```python
        await stop_each(res, plan, report, concurrency=5, deadline_minutes=10)
        ```

    """
    logger = run_logger(__name__)

    async def stop(candidate: StopCandidate) -> bool:
        return (await stop_candidate(res, candidate, deadline_minutes)).already_stopped

    done = await act_on_each(plan.to_stop, concurrency, stop, "Stop", report.skipped, report.errors)
    for candidate, already in done:
        (report.already_stopped if already else report.stopped).append(candidate.instance_id)
        logger.info(
            "%s %r (%s)%s",
            "Already stopped:" if already else "Stopped",
            candidate.name,
            candidate.instance_id,
            "" if candidate.managed else " (unmanaged)",
        )
    report.saved_per_hour = plan.price_per_hour(report.stopped)
    report.unpriced = plan.unpriced(report.stopped)


async def tell_humans(res: FlowResources, report: StopAllReport) -> None:
    """One message to the team's notification blocks: what was stopped, the $/h saved.

    Example:
        ```python
        await tell_humans(res, report)
        ```

    """
    stopped = set(report.stopped)
    body = report.summary()
    body += _named(
        " Stopped", [c.name or c.instance_id for c in report.matched if c.instance_id in stopped]
    )
    body += _named(" Failed", [e.name or e.instance_id for e in report.errors])
    await notify_humans(
        res.policies,
        f"Novita: stop-all stopped {len(report.stopped)} instance(s), "
        f"saves {format_usd(report.saved_per_hour)}/h",
        body,
    )


def _named(label: str, names: list[str]) -> str:
    # A message names a few machines; the report table lists them all.
    if not names:
        return ""
    more = len(names) - MAX_NAMED
    return f"{label}: {', '.join(names[:MAX_NAMED])}" + (f" and {more} more." if more > 0 else ".")


def log_plan(plan: StopAllPlan, report: StopAllReport) -> None:
    """Log what matched: each instance to stop (with its $/h), each skip with its reason.

    Example:
        >>> plan = StopAllPlan(filters=StopAllFilters())
        >>> log_plan(plan, new_report(plan, dry_run=True, confirmed=False))

    """
    logger = run_logger(__name__)
    verb = "Stop" if report.acted else "Would stop"
    logger.info(
        "Matching %s: %d to stop (%s/h%s), %d skipped, %d not running",
        plan.filters.describe(),
        len(plan.to_stop),
        format_usd(plan.price_per_hour()),
        f" + {plan.unpriced()} unpriced" if plan.unpriced() else "",
        len(plan.skipped),
        plan.not_running,
    )
    for c in plan.to_stop:
        logger.info(
            "%s %r (%s): %s in %s, %s, %s/h%s",
            verb,
            c.name,
            c.instance_id,
            c.novita_status,
            c.region or "-",
            c.product or "-",
            format_usd(c.price_per_hour),
            "" if c.managed else " (unmanaged)",
        )
    log_skipped(plan.skipped)


def report_rows(report: StopAllReport) -> list[SweepRow]:
    """The rows of the `stop-all-report` table: the matching instances first, then the skipped.

    Example:
        >>> report_rows(StopAllReport(filters=StopAllFilters(), dry_run=True, confirmed=False))
        []

    """
    stopped, already = set(report.stopped), set(report.already_stopped)
    failed = {e.instance_id: e.error for e in report.errors}
    left = {s.instance_id for s in report.skipped}
    rows: list[SweepRow] = []
    for c in report.matched:
        if c.instance_id in stopped:
            decision = "stopped"
        elif c.instance_id in already:
            decision = "already stopped"
        elif c.instance_id in failed:
            decision = "error"
        elif report.dry_run:
            decision = "would stop (dry run)"
        elif not report.confirmed:
            decision = f"not stopped ({CONFIRM_MISSING})"
        elif c.instance_id in left:
            continue  # left alone after the re-read: listed with the skipped ones
        else:
            decision = "not stopped"
        detail = (
            f"{c.novita_status} in {c.region or '-'}, {c.product or '-'}, "
            f"{format_usd(c.price_per_hour)}/h"
            + ("" if c.managed else ", unmanaged")
            + (f"; {failed[c.instance_id]}" if c.instance_id in failed else "")
        )
        rows.append(
            SweepRow(
                instance_id=c.instance_id, name=c.name or "-", decision=decision, detail=detail
            )
        )
    rows += [
        SweepRow(instance_id=s.instance_id, name=s.name or "-", decision="skipped", detail=s.reason)
        for s in report.skipped
    ]
    return rows
