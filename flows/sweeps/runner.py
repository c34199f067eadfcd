"""How a sweep acts on the instances it decided to act on: bounded, one failure stops nothing."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from typing import Protocol, TypeVar

from flows.common.run_logger import run_logger
from flows.sweeps.outcomes import InstanceError, InstanceSkippedError, SkippedInstance


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
    logger = run_logger(__name__)
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
