"""The Novita client's retry policy: what is retried, how long to wait, in one place.

Rules (DESIGN §4): retry 408, 429, 5xx, connection errors and timeouts, with exponential
backoff and jitter, honouring ``Retry-After``; never retry any other 4xx. The decision reads
the error's own ``retryable`` flag (see :mod:`clients.novita.errors`), so the classification
and the policy cannot drift apart.

Non-idempotent calls (``create_instance``) are stricter: they are retried only when the error
proves Novita did not act (connection refused, connect/pool timeout, 429, 408, 503). A read
timeout or a 500/502/504 after a create is raised at once, with a message saying the instance
may exist, because a blind retry could rent two GPUs.

The retry budget of one Novita operation. These are the ONLY retries of a Novita call:
Prefect tasks add none (``tasks/novita_task.py``), so attempts never multiply.

    attempts       4 HTTP requests at most (``max_attempts``), create included, but a
                   create only retries after errors proving Novita did not act
    waits          0.5 s, 1 s, 2 s between them (each ±50 % jitter, ``max_wait`` 20 s),
                   or exactly what ``Retry-After`` says, up to ``max_retry_after`` (60 s)
    longest wait   no retry starts whose wait would end past ``budget_seconds`` (120 s)
                   after the first attempt; each attempt has its own overall deadline
                   (``NovitaClient(request_deadline=10)``), so one operation ends within
                   about 45 s (4 x 10 s + 5.25 s) against a silent Novita, and within
                   about 5.3 s of waiting when Novita answers 503 at once
                   (0.75 + 1.5 + 3 s at most)

Example:
    >>> policy = RetryPolicy(max_attempts=3, initial_wait=1.0, jitter=0)
    >>> [policy.backoff(attempt) for attempt in (1, 2)]
    [1.0, 2.0]
    >>> should_retry(NovitaRateLimitError(status_code=429))
    True

"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import Awaitable, Callable
from typing import TypeVar

from pydantic import BaseModel, ConfigDict, Field
from tenacity import AsyncRetrying, RetryCallState

from clients.novita.errors import NovitaError, NovitaRateLimitError

__all__ = ["RetryPolicy", "Sleep", "call_with_retry", "should_retry"]

logger = logging.getLogger(__name__)

T = TypeVar("T")
Sleep = Callable[[float], Awaitable[None]]
"""An async sleep function; inject a fake one in tests so retries take no time."""


class RetryPolicy(BaseModel):
    """How the client retries failed calls.

    Attributes:
        max_attempts: Total tries including the first; 1 disables retrying.
        initial_wait: Wait in seconds before the second try.
        max_wait: Upper bound of any computed backoff wait, in seconds.
        multiplier: Growth factor of the backoff between tries.
        jitter: Relative jitter; each wait is multiplied by a random factor in
            ``[1 - jitter, 1 + jitter]`` (0 makes waits deterministic).
        respect_retry_after: Wait exactly what ``Retry-After`` says when a 429 carries it.
        max_retry_after: A ``Retry-After`` longer than this is not waited for: the error is
            raised at once so the caller (a Prefect task, a schedule) can decide.
        budget_seconds: No retry is started whose wait would end later than this many
            seconds after the first try began. With the client's per-attempt deadline, a
            whole call (every attempt and wait) lasts at most ``budget_seconds`` plus one
            deadline, whatever the server does.

    Example:
        >>> RetryPolicy()  # 4 tries; waits 0.5 s, 1 s, 2 s (± 50 %)
        RetryPolicy(max_attempts=4, initial_wait=0.5, max_wait=20.0, ...)
        >>> RetryPolicy(max_attempts=1).max_attempts  # no retries
        1

    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    max_attempts: int = Field(default=4, ge=1, le=20)
    initial_wait: float = Field(default=0.5, ge=0)
    max_wait: float = Field(default=20.0, ge=0)
    multiplier: float = Field(default=2.0, ge=1)
    jitter: float = Field(default=0.5, ge=0, le=1)
    respect_retry_after: bool = True
    max_retry_after: float = Field(default=60.0, ge=0)
    budget_seconds: float = Field(default=120.0, gt=0)

    @classmethod
    def disabled(cls) -> RetryPolicy:
        """Return a policy that tries once and never retries.

        Example:
            >>> RetryPolicy.disabled().max_attempts
            1

        """
        return cls(max_attempts=1)

    def backoff(self, attempt: int, rng: Callable[[], float] = random.random) -> float:
        """Exponential backoff with jitter after the given (1-based) failed attempt.

        Args:
            attempt: Number of the attempt that just failed (1 for the first call).
            rng: Source of uniform [0, 1) numbers, injectable for tests.

        Returns:
            Seconds to wait, at most ``max_wait``.

        Example:
            >>> RetryPolicy(jitter=0).backoff(3)
            2.0

        """
        base = self.initial_wait * self.multiplier ** max(0, attempt - 1)
        factor = 1.0 + self.jitter * (2.0 * rng() - 1.0)
        return max(0.0, min(self.max_wait, base * factor))

    def wait_for(
        self, attempt: int, error: BaseException | None, rng: Callable[[], float] = random.random
    ) -> float:
        """Seconds to wait after ``attempt`` failed with ``error``.

        A usable ``Retry-After`` wins over the backoff; otherwise exponential backoff.

        Example:
            >>> RetryPolicy().wait_for(1, NovitaRateLimitError(retry_after=3))
            3.0

        """
        retry_after = getattr(error, "retry_after", None)
        if self.respect_retry_after and isinstance(retry_after, int | float):
            return min(float(retry_after), self.max_retry_after)
        return self.backoff(attempt, rng)


def should_retry(
    error: BaseException, *, idempotent: bool = True, policy: RetryPolicy | None = None
) -> bool:
    """Decide whether a failed call may be tried again. The only place that decides it.

    Args:
        error: What the attempt raised.
        idempotent: False for calls that must not run twice (create); then the error must
            also prove Novita did not act (``maybe_processed`` is False).
        policy: When given, a ``Retry-After`` beyond ``policy.max_retry_after`` is not
            retried (waiting that long is the caller's decision).

    Returns:
        True to retry, False to raise.

    Example:
        >>> from clients.novita.errors import NovitaNotFoundError, NovitaServerError
        >>> should_retry(NovitaServerError(status_code=503))
        True
        >>> should_retry(NovitaNotFoundError(status_code=404))
        False

    """
    if not isinstance(error, NovitaError) or not error.retryable:
        return False
    if not idempotent and error.maybe_processed:
        return False
    if (
        policy is not None
        and policy.respect_retry_after
        and isinstance(error, NovitaRateLimitError)
        and error.retry_after is not None
        and error.retry_after > policy.max_retry_after
    ):
        return False
    return True


async def call_with_retry(
    call: Callable[[], Awaitable[T]],
    *,
    policy: RetryPolicy,
    operation: str,
    idempotent: bool = True,
    sleep: Sleep = asyncio.sleep,
    rng: Callable[[], float] = random.random,
) -> T:
    """Run ``call`` under the retry policy and return its result.

    Each retry is logged at WARNING with the operation, the attempt and the error (errors
    carry no secrets). When retries run out, the last error is raised unchanged.

    Args:
        call: A zero-argument coroutine function doing one attempt.
        policy: The retry policy.
        operation: What is being done, for the log ("stop instance").
        idempotent: False for create: see :func:`should_retry`.
        sleep: Async sleep; a fake one makes tests instant and lets them read the waits.
        rng: Jitter source.

    Returns:
        What ``call`` returned on the first successful attempt.

    Raises:
        NovitaError: The last error when it is not retryable or attempts are exhausted;
            its ``attempts`` says how many tries were made.

    Example:
        >>> import asyncio
        >>> from clients.novita.errors import NovitaServerError
        >>> answers = iter([NovitaServerError(status_code=503), "ok"])
        >>> async def fetch():
        ...     answer = next(answers)
        ...     if isinstance(answer, Exception):
        ...         raise answer
        ...     return answer
        >>> waits = []
        >>> async def fake_sleep(seconds):
        ...     waits.append(seconds)
        >>> policy = RetryPolicy(jitter=0)
        >>> asyncio.run(call_with_retry(fetch, policy=policy, operation="get instance",
        ...                             sleep=fake_sleep))
        'ok'
        >>> waits
        [0.5]

    """

    def wait(state: RetryCallState) -> float:
        error = state.outcome.exception() if state.outcome else None
        return policy.wait_for(state.attempt_number, error, rng)

    def retry(state: RetryCallState) -> bool:
        if state.outcome is None or not state.outcome.failed:
            return False
        error = state.outcome.exception()
        return error is not None and should_retry(error, idempotent=idempotent, policy=policy)

    attempts = 0
    # The budget's clock: time spent in attempts plus the waits asked for. Counting the
    # waits as asked (not as slept) keeps the schedule the same under an injected sleep.
    spent = 0.0

    def stop(state: RetryCallState) -> bool:
        if state.attempt_number >= policy.max_attempts:
            return True
        if spent + state.upcoming_sleep >= policy.budget_seconds:
            logger.warning(
                "Novita call out of retry budget: operation=%s attempt=%d spent=%.1fs"
                " next wait=%.1fs budget=%gs",
                operation,
                state.attempt_number,
                spent,
                state.upcoming_sleep,
                policy.budget_seconds,
            )
            return True
        return False

    def before_sleep(state: RetryCallState) -> None:
        nonlocal spent
        spent += state.upcoming_sleep
        error = state.outcome.exception() if state.outcome else None
        delay = state.next_action.sleep if state.next_action else 0.0
        logger.warning(
            "Novita call failed, retrying: operation=%s attempt=%d/%d wait=%.2fs error=%s",
            operation,
            state.attempt_number,
            policy.max_attempts,
            delay,
            error,
        )

    async def counted() -> T:
        nonlocal attempts, spent
        attempts += 1
        started = time.monotonic()
        try:
            return await call()
        finally:
            spent += time.monotonic() - started

    retrying = AsyncRetrying(
        stop=stop,
        wait=wait,
        retry=retry,
        sleep=sleep,
        before_sleep=before_sleep,
        reraise=True,
    )
    try:
        return await retrying(counted)
    except NovitaError as error:
        error.record_attempts(attempts)
        raise
