"""Fault and scenario controls: what tests tell the simulated cloud to do wrong.

Request faults act on API routes only (never on ``/_admin`` or the instance endpoints),
each optionally limited to requests whose path (relative to the API base, e.g.
``/gpu/instance/create``) contains a substring:

- rate cap: at most N requests per second (sliding one-second window, configurable
  burst; :mod:`simulator.ratelimit`) on every API path; above it, 429
  ``RATE_LIMIT_EXCEEDED`` with ``Retry-After`` (integer seconds, rounded up) and optionally
  ``Retry-After-Ms``. It is the front door: a refused request waits only the latency and
  consumes no other fault's counter;
- latency: every matching request waits ``ms`` real milliseconds first;
- hang: the next N matching requests wait ``seconds`` real seconds, then are *processed
  normally* (a client that timed out may still have created an instance, as live);
- rate limit: the next N matching requests answer 429 ``RATE_LIMIT_EXCEEDED`` with
  ``Retry-After``;
- failures: the next N matching requests answer a 5xx, and/or each matching request fails
  with a probability drawn from a seeded RNG (deterministic for a given seed and order).

Order when several apply: rate cap, latency, hang, then "next N" 429, then "next N" 5xx,
then random 5xx.

Scenario faults: exhausted capacity per cluster (create and start there answer 400
``INSUFFICIENT_RESOURCE``; the product list is unchanged, as when capacity runs out between
a listing and a create), failing migrations (the call answers 400
``MIGRATE_INSUFFICIENT_RESOURCE``, or its job ends ``fail``) and per-instance application
health (endpoints answer 502/503/500 or hang while the instance runs).
"""

from __future__ import annotations

import asyncio
import math
import random
import threading
import time
from dataclasses import dataclass
from typing import Any

from simulator.errors import ApiError
from simulator.ratelimit import RateLimit, RateLimiter

__all__ = [
    "APP_HEALTH_MODES",
    "MIGRATE_FAILURE_MODES",
    "FaultDecision",
    "Faults",
    "hold",
    "rate_limited",
    "server_error",
]

APP_HEALTH_MODES = ("ok", "502", "503", "500", "hang")
"""``ok`` = normal behaviour; a code = forced answer while running; ``hang`` = no answer."""

MIGRATE_FAILURE_MODES = ("none", "error", "job")
"""``error``: the migrate call answers 400; ``job``: the instanceMigrate job ends ``fail``."""

_REASONS = {500: "UNKNOWN", 502: "BAD_GATEWAY", 503: "SERVICE_UNAVAILABLE", 504: "TIMEOUT"}


@dataclass
class _Counted:
    """A fault that hits the next ``remaining`` matching requests."""

    remaining: int
    path: str | None
    status: int = 503
    retry_after: int = 1
    seconds: float = 0.0

    def take(self, path: str) -> bool:
        if self.remaining <= 0 or (self.path and self.path not in path):
            return False
        self.remaining -= 1
        return True


@dataclass(frozen=True)
class FaultDecision:
    """What to do with one API request.

    Example:
        >>> FaultDecision(delay=0.0, error=None).error is None
        True

    """

    delay: float
    """Real seconds to wait before answering (latency + hang)."""
    error: ApiError | None
    """Answer this instead of processing the request, when set."""
    limited: bool = False
    """Whether the rate cap refused the request (``error`` is then its 429)."""


def _matches(path_filter: str | None, path: str) -> bool:
    return not path_filter or path_filter in path


def rate_limited(wait: float, with_ms: bool = False) -> ApiError:
    """The 429 of the rate cap, telling the client to come back after ``wait`` seconds.

    ``Retry-After`` is delta-seconds, an integer by the HTTP standard: the wait rounded up,
    at least 1. ``Retry-After-Ms`` (when asked for) carries the wait itself.

    Example:
        >>> rate_limited(0.05, with_ms=True).headers
        {'Retry-After': '1', 'Retry-After-Ms': '50'}

    """
    headers = {"Retry-After": str(max(1, math.ceil(wait)))}
    if with_ms:
        headers["Retry-After-Ms"] = str(max(1, math.ceil(wait * 1000)))
    return ApiError(429, "RATE_LIMIT_EXCEEDED", "rate limit exceeded, retry later", headers)


def server_error(status: int) -> ApiError:
    """The envelope of an injected 5xx.

    Example:
        >>> server_error(503).reason
        'SERVICE_UNAVAILABLE'

    """
    return ApiError(status, _REASONS.get(status, "UNKNOWN"), "simulated server error")


class Faults:
    """All fault settings of one simulator, thread-safe.

    Args:
        seed: Seed of the RNG behind the random failure rate (None = unseeded; a seed
            can also be given with :meth:`set_error_rate`).

    Example:
        >>> faults = Faults(seed=1)
        >>> faults.fail_next(1, status=503, path="/gpu/instance/create")
        >>> faults.decide("/clusters").error is None
        True
        >>> faults.decide("/gpu/instance/create").error.status
        503

    """

    def __init__(self, seed: int | None = None):
        self._lock = threading.Lock()
        self._seed = seed
        self.clear_all()

    # -- request faults ----------------------------------------------------------------

    def set_latency(self, ms: float, path: str | None = None) -> None:
        """Delay every matching API request by ``ms`` real milliseconds (0 = off)."""
        if ms < 0:
            raise ValueError("ms must be >= 0")
        with self._lock:
            self._latency_ms, self._latency_path = float(ms), path

    def set_error_rate(
        self, rate: float, status: int = 500, path: str | None = None, seed: int | None = None
    ) -> None:
        """Fail each matching request with probability ``rate`` (0 = off) and ``status``."""
        if not 0 <= rate <= 1:
            raise ValueError("rate must be between 0 and 1")
        _check_5xx(status)
        with self._lock:
            self._rate, self._rate_status, self._rate_path = float(rate), status, path
            if seed is not None:
                self._rng = random.Random(seed)

    def fail_next(self, count: int, status: int = 503, path: str | None = None) -> None:
        """Answer the next ``count`` matching requests with ``status`` (a 5xx)."""
        _check_5xx(status)
        with self._lock:
            self._fail = _Counted(max(0, count), path, status=status)

    def rate_limit_next(self, count: int, retry_after: int = 1, path: str | None = None) -> None:
        """Answer the next ``count`` matching requests 429 with ``Retry-After: retry_after``."""
        if retry_after < 0:
            raise ValueError("retry_after must be >= 0")
        with self._lock:
            self._limit = _Counted(max(0, count), path, status=429, retry_after=retry_after)

    def set_rate_limit(
        self,
        per_second: int | None,
        burst: int | None = None,
        retry_after_ms: bool = False,
        now: float | None = None,
    ) -> None:
        """Cap every API path at ``per_second`` requests per second (None or 0 = no cap).

        Args:
            per_second: Requests admitted in any one-second window.
            burst: Requests admitted back to back (1..per_second; default per_second).
            retry_after_ms: Also answer ``Retry-After-Ms`` with the precise wait.
            now: Monotonic time the (full) bucket starts at; default now.

        Example:
            >>> faults = Faults()
            >>> faults.set_rate_limit(1, now=0.0)
            >>> faults.decide("/clusters", now=0.0).error is None
            True
            >>> refused = faults.decide("/products", now=0.5)
            >>> refused.limited, refused.error.status, refused.error.headers["Retry-After"]
            (True, 429, '1')

        """
        limiter = None
        if per_second:
            limit = RateLimit(per_second, burst, retry_after_ms)
            limiter = RateLimiter(limit, time.monotonic() if now is None else now)
        with self._lock:
            self._limiter = limiter

    def hang_next(self, count: int, seconds: float, path: str | None = None) -> None:
        """Hold the next ``count`` matching requests ``seconds`` real seconds, then answer."""
        if seconds < 0:
            raise ValueError("seconds must be >= 0")
        with self._lock:
            self._hang = _Counted(max(0, count), path, seconds=float(seconds))

    def clear_requests(self) -> None:
        """Switch every request fault off (rate cap, latency, hang, 429, 5xx)."""
        with self._lock:
            self._clear_requests_locked()

    def _clear_requests_locked(self) -> None:
        self._limiter: RateLimiter | None = None
        self._latency_ms, self._latency_path = 0.0, None
        self._rate, self._rate_status, self._rate_path = 0.0, 500, None
        self._rng = random.Random(self._seed)
        self._fail = _Counted(0, None)
        self._limit = _Counted(0, None, status=429)
        self._hang = _Counted(0, None)

    def decide(self, path: str, now: float | None = None) -> FaultDecision:
        """Decide the fate of one API request (consumes "next N" counters).

        Args:
            path: The request path relative to the API base, e.g. ``/gpu/instance/create``.
            now: Monotonic arrival time, for the rate cap (default: now).

        """
        with self._lock:
            delay = self._latency_ms / 1000 if _matches(self._latency_path, path) else 0.0
            if self._limiter is not None:
                wait = self._limiter.admit(time.monotonic() if now is None else now)
                if wait is not None:
                    error = rate_limited(wait, self._limiter.limit.retry_after_ms)
                    return FaultDecision(delay=delay, error=error, limited=True)
            if self._hang.take(path):
                delay += self._hang.seconds
            error: ApiError | None = None
            if self._limit.take(path):
                error = ApiError(
                    429,
                    "RATE_LIMIT_EXCEEDED",
                    "rate limit exceeded, retry later",
                    headers={"Retry-After": str(self._limit.retry_after)},
                )
            elif self._fail.take(path):
                error = server_error(self._fail.status)
            elif self._rate and _matches(self._rate_path, path) and self._rng.random() < self._rate:
                error = server_error(self._rate_status)
            return FaultDecision(delay=delay, error=error)

    # -- scenario faults -----------------------------------------------------------------

    def set_capacity(self, cluster_id: str, exhausted: bool) -> None:
        """Mark a cluster's capacity exhausted (or available again)."""
        with self._lock:
            if exhausted:
                self._exhausted.add(cluster_id)
            else:
                self._exhausted.discard(cluster_id)

    def is_exhausted(self, cluster_id: str) -> bool:
        """Whether creates and starts in this cluster fail for capacity."""
        with self._lock:
            return cluster_id in self._exhausted

    def set_migrate_failure(self, mode: str, instance_id: str | None = None) -> None:
        """Make migrations fail (``error`` | ``job``) or succeed (``none``).

        Args:
            mode: One of :data:`MIGRATE_FAILURE_MODES`.
            instance_id: Only this instance; None = every instance without its own setting.

        """
        if mode not in MIGRATE_FAILURE_MODES:
            raise ValueError(f"mode must be one of {', '.join(MIGRATE_FAILURE_MODES)}")
        with self._lock:
            if instance_id is None:
                self._migrate_global = mode
            else:
                self._migrate[instance_id] = mode

    def migrate_failure(self, instance_id: str) -> str:
        """The migrate failure mode in force for an instance (``none`` = succeed)."""
        with self._lock:
            return self._migrate.get(instance_id, self._migrate_global)

    def set_app_health(self, instance_id: str, mode: str, hang_seconds: float = 30.0) -> None:
        """Force an instance's http endpoints to answer a code or hang while it runs."""
        if mode not in APP_HEALTH_MODES:
            raise ValueError(f"mode must be one of {', '.join(APP_HEALTH_MODES)}")
        with self._lock:
            if mode == "ok":
                self._app.pop(instance_id, None)
            else:
                self._app[instance_id] = (mode, float(hang_seconds))

    def app_health(self, instance_id: str) -> tuple[str, float]:
        """``(mode, hang_seconds)`` for an instance; ``("ok", 0)`` by default."""
        with self._lock:
            return self._app.get(instance_id, ("ok", 0.0))

    def clear_all(self) -> None:
        """Back to no faults at all (request and scenario faults)."""
        with self._lock:
            self._clear_requests_locked()
            self._exhausted: set[str] = set()
            self._migrate: dict[str, str] = {}
            self._migrate_global = "none"
            self._app: dict[str, tuple[str, float]] = {}

    def snapshot(self) -> dict[str, Any]:
        """Describe every active fault (for ``GET /_admin/state``)."""
        with self._lock:
            return {
                "rateLimit": self._limiter.snapshot() if self._limiter else None,
                "latency": {"ms": self._latency_ms, "path": self._latency_path},
                "errorRate": {
                    "rate": self._rate,
                    "status": self._rate_status,
                    "path": self._rate_path,
                },
                "failNext": {
                    "count": self._fail.remaining,
                    "status": self._fail.status,
                    "path": self._fail.path,
                },
                "rateLimitNext": {
                    "count": self._limit.remaining,
                    "retryAfter": self._limit.retry_after,
                    "path": self._limit.path,
                },
                "hangNext": {
                    "count": self._hang.remaining,
                    "seconds": self._hang.seconds,
                    "path": self._hang.path,
                },
                "exhaustedClusters": sorted(self._exhausted),
                "migrateFailure": {
                    "global": self._migrate_global,
                    "instances": dict(self._migrate),
                },
                "appHealth": {k: v[0] for k, v in self._app.items()},
            }


async def hold(seconds: float, closing: threading.Event) -> None:
    """Sleep ``seconds`` real seconds, but return at once when the server is closing.

    Hanging requests must not hold a shutdown hostage (nor end in a cancelled task's
    traceback), so they wait in short slices and watch the ``closing`` flag.

    Example:
        >>> asyncio.run(hold(0.01, threading.Event()))

    """
    deadline = time.monotonic() + seconds
    while not closing.is_set():
        left = deadline - time.monotonic()
        if left <= 0:
            return
        await asyncio.sleep(min(left, 0.05))


def _check_5xx(status: int) -> None:
    if not 500 <= status <= 599:
        raise ValueError("status must be a 5xx code")
