"""The API's request-rate cap: at most N requests per second, with a configurable burst.

A live API answers 429 when a client sends faster than its quota; benchmarks need that
quota to be exact so they can show their own client-side limit keeps under it. The cap
combines two rules, both on real (monotonic) time, never on the simulated clock:

- a sliding one-second window: no span ``(t - 1 s, t]`` ever admits more than
  ``per_second`` requests (the figure :mod:`simulator.requeststats` measures, so the two
  agree to the request);
- a token bucket of ``burst`` tokens refilled at ``per_second`` tokens per second: at most
  ``burst`` requests back to back, then one every ``1 / per_second`` seconds. With the
  default ``burst == per_second`` the window alone decides.

A refused request is told how long to wait until the next one would be admitted; the
gateway turns that into ``Retry-After`` (integer seconds, rounded up) and, on request,
``Retry-After-Ms``. Refused requests consume nothing: retrying at once is refused again
without pushing the next admission further away.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from typing import Any

__all__ = ["RateLimit", "RateLimiter"]

_WINDOW = 1.0
# Refill is float arithmetic: 0.9999999 of a token is a whole one, or a client that waited
# exactly what it was told would be refused again and sent away for a rounded-up second.
_EPSILON = 1e-9


@dataclass(frozen=True)
class RateLimit:
    """The settings of a cap.

    Example:
        >>> RateLimit(per_second=20).effective_burst
        20

    """

    per_second: int
    """Requests admitted in any one-second window (>= 1)."""
    burst: int | None = None
    """Requests admitted back to back (1..per_second); None = ``per_second``."""
    retry_after_ms: bool = False
    """Also send the precise wait as ``Retry-After-Ms`` (non-standard, some gateways do)."""

    def __post_init__(self) -> None:
        if self.per_second < 1:
            raise ValueError("per_second must be >= 1 (0 or None switches the cap off)")
        if self.burst is not None and not 1 <= self.burst <= self.per_second:
            raise ValueError("burst must be between 1 and per_second")

    @property
    def effective_burst(self) -> int:
        """The bucket's capacity: ``burst`` or, by default, ``per_second``."""
        return self.per_second if self.burst is None else self.burst


class RateLimiter:
    """Admit or refuse requests under a :class:`RateLimit`; not thread-safe by itself.

    The caller serialises calls (:class:`simulator.faults.Faults` holds its lock) and passes
    the time, so tests can drive it with made-up instants.

    Args:
        limit: The cap to enforce.
        now: Monotonic seconds at creation (the bucket starts full).

    Example:
        >>> limiter = RateLimiter(RateLimit(per_second=2), now=0.0)
        >>> [limiter.admit(0.0), limiter.admit(0.1), limiter.admit(0.2)]
        [None, None, 0.8]
        >>> limiter.admit(1.0) is None     # the request of t=0 has left the window
        True

    """

    def __init__(self, limit: RateLimit, now: float):
        self.limit = limit
        self._tokens = float(limit.effective_burst)
        self._refilled_at = now
        self._window: deque[float] = deque()
        self.refused = 0
        """Requests refused so far."""

    def admit(self, now: float) -> float | None:
        """Admit one request at ``now`` (monotonic seconds), or say how long to wait.

        Args:
            now: The request's arrival time; calls must come in non-decreasing order.

        Returns:
            None when admitted, else the seconds after which a request would be admitted.

        Example:
            >>> limiter = RateLimiter(RateLimit(per_second=10, burst=1), now=0.0)
            >>> limiter.admit(0.0) is None, round(limiter.admit(0.0), 3)
            (True, 0.1)

        """
        rate = self.limit.per_second
        window = self._window
        while window and window[0] <= now - _WINDOW:
            window.popleft()
        self._tokens = min(
            float(self.limit.effective_burst),
            self._tokens + max(0.0, now - self._refilled_at) * rate,
        )
        self._refilled_at = max(self._refilled_at, now)
        wait = 0.0
        if len(window) >= rate:
            wait = window[0] + _WINDOW - now
        if self._tokens < 1.0 - _EPSILON:
            wait = max(wait, (1.0 - self._tokens) / rate)
        if wait > 0:
            self.refused += 1
            return wait
        self._tokens -= 1.0
        window.append(now)
        return None

    def snapshot(self) -> dict[str, Any]:
        """Describe the cap for the admin API.

        Example:
            >>> RateLimiter(RateLimit(per_second=20), now=0.0).snapshot()["perSecond"]
            20

        """
        return {
            "perSecond": self.limit.per_second,
            "burst": self.limit.effective_burst,
            "retryAfterMs": self.limit.retry_after_ms,
            "refused": self.refused,
        }
