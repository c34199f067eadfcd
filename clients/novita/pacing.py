"""Pace one process's Novita requests: at most N per window, and a shared pause after a 429.

A `RequestPacer` is a token bucket: `burst` requests may go at once, then `refill_per_second`
more each second, so no window of `window_seconds` ever holds more than the budget's `N`
requests from this process (burst + refill x window = N). A 429 pauses every caller of the
process until its `Retry-After` has passed, instead of each one retrying on its own.

Example:
    >>> budget = RateBudget.parse("20/s")
    >>> budget.burst, budget.refill_per_second
    (2, 18.0)
    >>> RateBudget.parse("100/min").refill_per_second
    1.5

"""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import Awaitable, Callable

from pydantic import BaseModel, ConfigDict, Field

__all__ = ["RateBudget", "RequestPacer"]

Clock = Callable[[], float]
Sleep = Callable[[float], Awaitable[None]]

_UNITS = {"s": 1.0, "sec": 1.0, "second": 1.0, "min": 60.0, "minute": 60.0, "h": 3600.0}
_BUDGET = re.compile(r"^\s*(\d+)\s*/\s*(\d*\.?\d*)\s*([a-z]+)\s*$")


class RateBudget(BaseModel):
    """At most `requests` Novita requests in any window of `window_seconds`.

    The budget is spent as a token bucket of `burst` tokens refilled at `refill_per_second`,
    shaped so that `burst + refill_per_second x window_seconds == requests`: a tenth of the
    budget (at least one) may go at once, the rest is spread over the window.

    Example:
        >>> RateBudget(requests=100, window_seconds=60).burst
        10

    """

    model_config = ConfigDict(frozen=True)

    requests: int = Field(ge=1, description="Requests allowed per window")
    window_seconds: float = Field(default=1.0, gt=0, description="The window, in seconds")

    @property
    def burst(self) -> int:
        """Requests that may go back to back (a tenth of the budget, at least one)."""
        return max(1, self.requests // 10)

    @property
    def refill_per_second(self) -> float:
        """Requests per second in the long run."""
        return max(self.requests - self.burst, 1) / self.window_seconds

    @classmethod
    def parse(cls, text: str) -> RateBudget:
        """Read `20/s`, `100/min`, `5/10s` or `1000/h`.

        Raises:
            ValueError: the text is not `<requests>/<window>`, naming the allowed units.

        Example:
            >>> RateBudget.parse("5/10s").window_seconds
            10.0

        """
        match = _BUDGET.match(text.lower())
        if not match or match[3] not in _UNITS:
            raise ValueError(
                f"rate limit {text!r} is not <requests>/<window>, e.g. 20/s or 100/min "
                f"(units: {', '.join(sorted(_UNITS))})"
            )
        count = float(match[2]) if match[2] else 1.0
        return cls(requests=int(match[1]), window_seconds=count * _UNITS[match[3]])


class RequestPacer:
    """A token bucket for one process; `pause` holds every caller back for a while.

    Args:
        budget: The requests per window this process may send.
        share: The part of the budget's refill rate this pacer uses (1 = all of it). Just
            under 1 when a shared limit of the same budget stands behind it: the pacer then
            keeps this process a hair slower than the shared bucket refills, so a process
            on its own never waits for a contended shared slot.
        clock: Monotonic clock, injectable for tests.
        sleep: Async sleep, injectable for tests.

    Example:
        >>> import asyncio
        >>> asyncio.run(RequestPacer(RateBudget.parse("20/s")).wait_turn())

    """

    def __init__(
        self,
        budget: RateBudget,
        *,
        share: float = 1.0,
        clock: Clock = time.monotonic,
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        if not 0 < share <= 1:
            raise ValueError("share must be in (0, 1]")
        self.budget = budget
        self._clock = clock
        self._sleep = sleep
        self._rate = budget.refill_per_second * share
        self._tokens = float(budget.burst)
        self._updated = clock()
        self._pauses = 0

    def _refill(self, now: float) -> None:
        # `_updated` may lie ahead (a pause): tokens then count down to that moment.
        self._tokens = min(
            float(self.budget.burst), self._tokens + (now - self._updated) * self._rate
        )
        self._updated = now

    def _take(self) -> float:
        """Take a token now or book the next one; returns how long to wait for it."""
        now = self._clock()
        self._refill(now)
        self._tokens -= 1.0  # may go negative: a booking the next callers queue behind
        return 0.0 if self._tokens >= 0 else -self._tokens / self._rate

    async def wait_turn(self) -> None:
        """Wait until this caller may send (its token, and after any pause).

        Example:
            ```python
            await pacer.wait_turn()
            response = await http.get(url)
            ```

        """
        while True:
            pauses = self._pauses
            wait = self._take()
            if wait > 0:
                await self._sleep(wait)
            if self._pauses == pauses:
                return
            # A 429 paused everyone while this caller slept: queue again behind the pause.

    def pause(self, seconds: float) -> None:
        """Hold every caller back for `seconds` from now (a 429's Retry-After).

        Example:
            >>> pacer = RequestPacer(RateBudget.parse("10/s"))
            >>> pacer.pause(2.0)

        """
        now = self._clock()
        until = now + max(seconds, 0.0)
        self._pauses += 1
        self._refill(now)
        if until > now:
            # Nothing goes before `until`; from then on the bucket refills from empty, so the
            # callers held back (they all queue again) leave one by one, not all at once.
            self._tokens = 0.0
            self._updated = until
