"""One Novita rate limit for the whole deployment: every request of every worker passes it.

Two layers, both shaped by the same `RateBudget` (e.g. `20/s`: a burst of 2, then 18 per
second), so no window ever sees more than the budget:

1. In each process, a `RequestPacer` spaces this process's requests (no Prefect call needed
   to stay under the budget when one worker does all the work).
2. Across processes and workers, a Prefect global concurrency limit with slot decay (named
   `novita-api` by default, limit = the burst, decay = the refill rate): each request takes
   one slot, so several workers share one budget. It is created on first use if the set-up
   did not create it (`ensure_shared_limit`).

A 429 slows everyone down instead of each caller retrying harder: this process pauses for the
`Retry-After`, and the shared bucket is drained so the other workers wait too. If the Prefect
API cannot be asked, the request goes ahead under the local pacer alone (logged once): a
Prefect outage never stops Novita operations.
"""

from __future__ import annotations

import logging

from prefect.client.orchestration import get_client
from prefect.client.schemas.actions import (
    GlobalConcurrencyLimitCreate,
    GlobalConcurrencyLimitUpdate,
)
from prefect.concurrency.asyncio import rate_limit
from prefect.exceptions import ObjectNotFound

from clients.novita.pacing import RateBudget, RequestPacer

DEFAULT_RATE_LIMIT_NAME = "novita-api"
LOCAL_SHARE = 0.97
"""The local pacer runs at 97 % of the shared refill rate: one busy process then stays just
under the shared bucket instead of waiting on contended slots (each costs a Prefect retry)."""

logger = logging.getLogger(__name__)

__all__ = ["DEFAULT_RATE_LIMIT_NAME", "NovitaRateLimit", "ensure_shared_limit", "rate_limit_for"]


async def ensure_shared_limit(name: str, budget: RateBudget) -> None:
    """Create the Prefect global rate limit `name` for `budget`, or bring it in line.

    Example:
        ```python
        await ensure_shared_limit("novita-api", RateBudget.parse("20/s"))
        ```

    """
    async with get_client() as client:
        try:
            current = await client.read_global_concurrency_limit_by_name(name)
        except ObjectNotFound:
            try:
                await client.create_global_concurrency_limit(
                    GlobalConcurrencyLimitCreate(
                        name=name,
                        limit=budget.burst,
                        slot_decay_per_second=budget.refill_per_second,
                        active=True,
                    )
                )
            except Exception:
                # Another request or worker created it first (a SQLite-backed server answers
                # that race with a 500, not a 409): it exists, or this raises.
                await client.read_global_concurrency_limit_by_name(name)
            return
        if (
            current.limit != budget.burst
            or abs((current.slot_decay_per_second or 0) - budget.refill_per_second) > 1e-9
            or not current.active
        ):
            await client.update_global_concurrency_limit(
                name,
                GlobalConcurrencyLimitUpdate(
                    limit=budget.burst,
                    slot_decay_per_second=budget.refill_per_second,
                    active=True,
                ),
            )


class NovitaRateLimit:
    """The gate of every Novita request of this process (see the module docstring).

    Example:
        ```python
        limit = rate_limit_for(RateBudget.parse("20/s"))
        client = NovitaClient(api_key=key, request_gate=limit.gate,
                              on_rate_limited=limit.slow_down)
        ```

    """

    def __init__(self, budget: RateBudget, name: str = DEFAULT_RATE_LIMIT_NAME) -> None:
        self.budget = budget
        self.name = name
        self.pacer = RequestPacer(budget, share=LOCAL_SHARE)
        self._shared_ready = False
        self._shared_broken = False

    async def _take_shared(self, slots: int) -> None:
        if self._shared_broken:
            return
        try:
            if not self._shared_ready:
                await ensure_shared_limit(self.name, self.budget)
                self._shared_ready = True
            await rate_limit(self.name, occupy=slots, strict=True)
        except Exception as exc:  # Prefect unreachable: the local pacer still holds the rate
            self._shared_broken = True
            logger.warning(
                "Shared Novita rate limit %r unavailable (%s): pacing this process only",
                self.name,
                type(exc).__name__,
            )

    async def gate(self) -> None:
        """Wait for this process's turn, then for one slot of the shared budget."""
        await self.pacer.wait_turn()
        await self._take_shared(1)

    async def slow_down(self, retry_after: float | None) -> None:
        """A 429: pause this process for `retry_after` and drain the shared bucket."""
        self.pacer.pause(retry_after if retry_after is not None else 1.0)
        await self._take_shared(self.budget.burst)


_LIMITS: dict[tuple[str, RateBudget], NovitaRateLimit] = {}


def rate_limit_for(budget: RateBudget, name: str = DEFAULT_RATE_LIMIT_NAME) -> NovitaRateLimit:
    """The one `NovitaRateLimit` of this process for `budget`: every client shares its pacer.

    Example:
        >>> budget = RateBudget.parse("20/s")
        >>> rate_limit_for(budget) is rate_limit_for(budget)
        True

    """
    key = (name, budget)
    if key not in _LIMITS:
        _LIMITS[key] = NovitaRateLimit(budget, name)
    return _LIMITS[key]
