"""What every sweep reports: instances skipped (and why), instances that failed, the table artifact.

The auto-stop and migration sweeps decide in bulk and act only where needed; their reports
list each instance they left alone with the reason, and each one whose action failed with
the error. The same rows are published as a keyed Prefect table artifact, so the latest
sweep is one click away in the UI (`auto-stop-sweep-report`, `migration-sweep-report`).
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence

from prefect.artifacts import acreate_table_artifact
from pydantic import BaseModel, Field

from flows.common.run_logger import run_logger
from flows.sweeps.outcomes import InstanceError, InstanceSkippedError, SkippedInstance

__all__ = [
    "InstanceError",
    "InstanceSkippedError",
    "SkippedInstance",
    "SweepRow",
    "log_skipped",
    "publish_sweep_report",
    "publish_sweep_table",
]

MAX_ARTIFACT_ROWS = 500
"""A table artifact keeps at most this many rows (the sweep's result keeps everything)."""


class SweepRow(BaseModel):
    """One row of a sweep's table artifact."""

    instance_id: str
    name: str = Field(default="-")
    decision: str
    detail: str = Field(default="")


async def publish_sweep_table(key: str, rows: Sequence[SweepRow], summary: str) -> None:
    """Publish the sweep's decisions as a keyed table artifact; never fails the sweep.

    At most `MAX_ARTIFACT_ROWS` rows are published (acted-on ones first, as given); the
    description says how many were left out.

    Example:
        ```python
        await publish_sweep_table("auto-stop-sweep-report", rows, "2 stopped, 5 skipped")
        ```

    """
    shown = list(rows[:MAX_ARTIFACT_ROWS])
    description = summary
    if len(rows) > len(shown):
        description += f" (table shows the first {len(shown)} of {len(rows)} instances)"
    table = [row.model_dump() for row in shown] or [
        SweepRow(instance_id="-", decision="nothing to do").model_dump()
    ]
    try:
        await acreate_table_artifact(table=table, key=key, description=description)
    except Exception as exc:  # the report is also the flow's result: a lost table is not fatal
        run_logger(__name__).warning("Sweep table %s not published: %s", key, type(exc).__name__)


MAX_LOGGED_SKIPS = 50
"""Skips logged one by one; beyond that, a count per reason (a 10,000-instance sweep would
otherwise send 10,000 log lines to the Prefect server)."""


def log_skipped(skipped: Sequence[SkippedInstance]) -> None:
    """Log the instances a sweep leaves alone: each one, or a count per reason when many.

    Example:
        >>> log_skipped([SkippedInstance(instance_id="0123456789abcdef", reason="busy")])

    """
    logger = run_logger(__name__)
    if len(skipped) <= MAX_LOGGED_SKIPS:
        for instance in skipped:
            logger.info("Skip %s (%s): %s", instance.name, instance.instance_id, instance.reason)
        return
    by_reason = Counter(_reason_kind(s.reason) for s in skipped)
    logger.info(
        "Skipped %d instance(s): %s (each one with its reason in the report)",
        len(skipped),
        "; ".join(f"{count} {reason}" for reason, count in by_reason.most_common()),
    )


def _reason_kind(reason: str) -> str:
    # "used 3.5 min ago; threshold 20 min" and "used 7 min ago; ..." are one kind of reason.
    return re.sub(r"\d+(\.\d+)?", "N", reason)


async def publish_sweep_report(key: str, rows: Sequence[SweepRow], summary: str) -> None:
    """Publish the sweep's table artifact and log its one-line summary; never fails the sweep.

    Example:
        ```python
        await publish_sweep_report(REPORT_KEY, report.rows(), report.summary())
        ```

    """
    await publish_sweep_table(key, rows, summary)
    run_logger(__name__).info(summary)
