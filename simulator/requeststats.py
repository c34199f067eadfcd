"""Counters of the API requests that reached the simulator, for benchmarks to assert on.

Where :mod:`simulator.requestlog` keeps what each request said (bounded, so it forgets at
scale), these counters keep how many came and when, for the whole run and in O(1) per
request: totals, per path, per answered status, requests per wall-clock second, and the
most requests seen in any one-second window (sliding, on monotonic time, with the same
``(t - 1 s, t]`` convention as :mod:`simulator.ratelimit`, so "at most N in any second" is
checked exactly as it is enforced).

"Received" counts every API request; "served" the ones the rate cap let through (their
answer may still be an injected fault or a business error); "limited" the ones the cap
refused with 429.
"""

from __future__ import annotations

import threading
import time
from collections import Counter, deque
from typing import Any

__all__ = ["RequestStats"]

_WINDOW = 1.0


class _SlidingMax:
    """Largest number of events seen in any ``(t - 1 s, t]`` window."""

    def __init__(self) -> None:
        self._times: deque[float] = deque()
        self.peak = 0

    def add(self, now: float) -> None:
        # The busiest window always ends at an event, so checking at each event is exact.
        while self._times and self._times[0] <= now - _WINDOW:
            self._times.popleft()
        self._times.append(now)
        self.peak = max(self.peak, len(self._times))


class RequestStats:
    """Thread-safe request counters since creation or the last :meth:`clear`.

    Args:
        seconds_kept: Per-second rows kept (the newest); totals and peaks are never dropped.

    Example:
        >>> stats = RequestStats()
        >>> for at in (0.0, 0.4, 0.9, 1.2):
        ...     stats.record("/clusters", limited=False, now=at, wall=1_700_000_000.0 + at)
        >>> stats.record("/clusters", limited=True, now=1.3, wall=1_700_000_001.3)
        >>> stats.answered(429)
        >>> snap = stats.snapshot()
        >>> snap["total"], snap["served"], snap["limited"], snap["maxServedInAnySecond"]
        (5, 4, 1, 3)
        >>> snap["perSecond"][1]
        {'second': 1700000001, 'received': 2, 'served': 1, 'limited': 1}

    """

    def __init__(self, seconds_kept: int = 3600):
        self._lock = threading.Lock()
        self._seconds_kept = seconds_kept
        self.clear()

    def clear(self) -> None:
        """Start counting afresh."""
        with self._lock:
            self._since = time.time()
            self._total = 0
            self._limited = 0
            self._paths: dict[str, list[int]] = {}
            self._statuses: Counter[int] = Counter()
            # second -> [received, served, limited]; dicts keep insertion (= time) order
            self._seconds: dict[int, list[int]] = {}
            self._received_peak = _SlidingMax()
            self._served_peak = _SlidingMax()

    def record(self, path: str, *, limited: bool, now: float, wall: float) -> None:
        """Count one arriving request.

        Args:
            path: Its path relative to the API base.
            limited: Whether the rate cap refused it.
            now: Monotonic arrival time (the one the rate cap saw).
            wall: Epoch arrival time (labels the per-second rows).

        """
        with self._lock:
            self._total += 1
            per_path = self._paths.setdefault(path, [0, 0])
            per_path[0] += 1
            row = self._seconds.get(int(wall))
            if row is None:
                row = self._seconds[int(wall)] = [0, 0, 0]
                if len(self._seconds) > self._seconds_kept:
                    del self._seconds[next(iter(self._seconds))]
            row[0] += 1
            self._received_peak.add(now)
            if limited:
                self._limited += 1
                per_path[1] += 1
                row[2] += 1
            else:
                row[1] += 1
                self._served_peak.add(now)

    def answered(self, status: int) -> None:
        """Count the status one request was answered with."""
        with self._lock:
            self._statuses[status] += 1

    def snapshot(self) -> dict[str, Any]:
        """Everything counted, as JSON-ready camelCase (what ``GET /_admin/stats`` returns).

        Keys: ``since`` (epoch), ``total``, ``served``, ``limited``, ``byStatus``
        (``{"200": n, "429": n}``, every 429 including injected ones), ``byPath``
        (``{path: {"total", "limited"}}``), ``maxReceivedInAnySecond``,
        ``maxServedInAnySecond``, ``perSecond`` (``[{"second", "received", "served",
        "limited"}]``, oldest first, seconds without traffic left out).

        Example:
            >>> RequestStats().snapshot()["maxServedInAnySecond"]
            0

        """
        with self._lock:
            return {
                "since": self._since,
                "total": self._total,
                "served": self._total - self._limited,
                "limited": self._limited,
                "byStatus": {str(k): v for k, v in sorted(self._statuses.items())},
                "byPath": {
                    path: {"total": counts[0], "limited": counts[1]}
                    for path, counts in sorted(self._paths.items())
                },
                "maxReceivedInAnySecond": self._received_peak.peak,
                "maxServedInAnySecond": self._served_peak.peak,
                "perSecond": [
                    {"second": second, "received": r, "served": s, "limited": lim}
                    for second, (r, s, lim) in self._seconds.items()
                ],
            }
