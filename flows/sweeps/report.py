"""What every sweep reports: instances skipped (and why), instances that failed, the table artifact.

The auto-stop and migration sweeps decide in bulk and act only where needed; their reports
list each instance they left alone with the reason, and each one whose action failed with
the error. The same rows are published as a keyed Prefect table artifact, so the latest
sweep is one click away in the UI (`auto-stop-sweep-report`, `migration-sweep-report`).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from typing import Protocol, TypeVar

from prefect import get_run_logger
from prefect.artifacts import acreate_table_artifact
from pydantic import BaseModel, Field

MAX_ARTIFACT_ROWS = 500
"""A table artifact keeps at most this many rows (the sweep's result keeps everything)."""


class SkippedInstance(BaseModel):
    """An instance the sweep looked at and left alone.

    Example:
        >>> SkippedInstance(instance_id="0123456789abcdef", name="a", reason="used 3 min ago")
        SkippedInstance(instance_id='0123456789abcdef', name='a', reason='used 3 min ago')

    """

    instance_id: str
    name: str | None = None
    reason: str


class InstanceError(BaseModel):
    """An instance whose action failed; the sweep carried on with the others.

    Example:
        >>> InstanceError(instance_id="0123456789abcdef", error="stop refused").error
        'stop refused'

    """

    instance_id: str
    name: str | None = None
    error: str


class InstanceSkippedError(Exception):
    """Raised while acting on one instance when a re-read shows it must be left alone.

    Example:
        ```python
        if live.status != InstanceStatus.RUNNING:
            raise InstanceSkippedError(f"Novita now reports {live.status_raw}")
        ```

    """

    @property
    def reason(self) -> str:
        """Why the instance was left alone."""
        return str(self)


class SweepRow(BaseModel):
    """One row of a sweep's table artifact."""

    instance_id: str
    name: str = Field(default="-")
    decision: str
    detail: str = Field(default="")


def _logger() -> logging.Logger | logging.LoggerAdapter[logging.Logger]:
    try:
        return get_run_logger()
    except Exception:  # outside a run
        return logging.getLogger(__name__)


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
        _logger().warning("Sweep table %s not published: %s", key, type(exc).__name__)


class SweepCandidate(Protocol):
    """What a sweep acts on: any model with the instance's id and name."""

    instance_id: str
    name: str


CandidateT = TypeVar("CandidateT", bound=SweepCandidate)
OutcomeT = TypeVar("OutcomeT")


async def act_on_each(
    candidates: Sequence[CandidateT],
    concurrency: int,
    action: Callable[[CandidateT], Awaitable[OutcomeT]],
    what: str,
    skipped: list[SkippedInstance],
    errors: list[InstanceError],
) -> list[tuple[CandidateT, OutcomeT]]:
    """Run `action` on every candidate, at most `concurrency` at once; one failure never stops it.

    An `InstanceSkippedError` lands in `skipped` with its reason; any other exception in
    `errors`. Returns the candidates that succeeded, with their outcomes, in input order.

    Example:
        ```python
        done = await act_on_each(idle, 5, lambda c: AutoStop(res, c).run(), "Auto-stop",
                                 report.skipped, report.errors)
        ```

    """
    logger = _logger()
    gate = asyncio.Semaphore(concurrency)

    async def act(candidate: CandidateT) -> tuple[CandidateT, OutcomeT] | None:
        async with gate:
            try:
                return candidate, await action(candidate)
            except InstanceSkippedError as exc:
                logger.info("Left %s alone: %s", candidate.instance_id, exc.reason)
                skipped.append(
                    SkippedInstance(
                        instance_id=candidate.instance_id, name=candidate.name, reason=exc.reason
                    )
                )
            except Exception as exc:  # one instance's failure never stops the sweep
                logger.error("%s of %s failed: %s", what, candidate.instance_id, exc)
                errors.append(
                    InstanceError(
                        instance_id=candidate.instance_id, name=candidate.name, error=str(exc)
                    )
                )
            return None

    results = await asyncio.gather(*(act(c) for c in candidates))
    return [r for r in results if r is not None]
