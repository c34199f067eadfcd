"""How often, and how patiently, a webhook delivery is retried, chosen by event.

Ordinary events: 3 attempts, waits 1 s then 2 s, no jitter. Startup events: 5 attempts, waits
1, 2, 4, 8 s, each stretched by up to 10% of random jitter. Startup events get more patience
because a caller following a start operation has nothing else to learn from; the jitter keeps
many instances starting together from hammering a receiver in lock-step.

Which answers are worth a retry is decided here too (``is_retryable_status``), so the sender
holds no policy of its own.
"""

from __future__ import annotations

import random

from pydantic import BaseModel, ConfigDict, Field

from clients.webhook_payload import WebhookEvent, is_startup_event

__all__ = [
    "ORDINARY_POLICY",
    "STARTUP_POLICY",
    "WebhookRetryPolicy",
    "is_retryable_status",
    "policy_for",
]


class WebhookRetryPolicy(BaseModel):
    """A retry schedule: ``max_attempts`` tries, exponential waits, optional proportional jitter.

    The wait before retry ``n`` (1-based: the wait after the n-th failed attempt) is
    ``initial_wait_s * backoff_factor ** (n - 1)``, then multiplied by a random factor in
    ``[1, 1 + jitter_ratio]``: jitter only ever lengthens a wait, so "up to 10%" holds.

    Example:
        >>> policy = WebhookRetryPolicy(max_attempts=5, jitter_ratio=0.1)
        >>> policy.base_waits()
        (1.0, 2.0, 4.0, 8.0)
        >>> 4.0 <= policy.wait_before_retry(3) <= 4.4
        True

    """

    model_config = ConfigDict(frozen=True)

    max_attempts: int = Field(default=3, ge=1, le=20)
    initial_wait_s: float = Field(default=1.0, ge=0)
    backoff_factor: float = Field(default=2.0, ge=1)
    jitter_ratio: float = Field(default=0.0, ge=0, le=1)

    def base_wait(self, retry_number: int) -> float:
        """Return the wait before retry ``retry_number`` (1-based), without jitter.

        Example:
            >>> WebhookRetryPolicy().base_wait(2)
            2.0

        """
        return self.initial_wait_s * self.backoff_factor ** (retry_number - 1)

    def wait_before_retry(self, retry_number: int, rng: random.Random | None = None) -> float:
        """Return the wait before retry ``retry_number`` (1-based), jitter included.

        Args:
            retry_number: 1 for the wait after the first failed attempt, and so on.
            rng: Source of randomness (tests pass a seeded one); the module's by default.

        Example:
            >>> WebhookRetryPolicy().wait_before_retry(1)
            1.0

        """
        base = self.base_wait(retry_number)
        if self.jitter_ratio == 0:
            return base
        uniform = (rng or random).uniform
        return base * (1 + uniform(0, self.jitter_ratio))

    def base_waits(self) -> tuple[float, ...]:
        """Return every wait of a delivery that fails throughout, without jitter.

        Example:
            >>> ORDINARY_POLICY.base_waits()
            (1.0, 2.0)

        """
        return tuple(self.base_wait(n) for n in range(1, self.max_attempts))


ORDINARY_POLICY = WebhookRetryPolicy(max_attempts=3)
"""Ordinary events: waits 1 s, 2 s."""

STARTUP_POLICY = WebhookRetryPolicy(max_attempts=5, jitter_ratio=0.1)
"""Startup events: waits 1, 2, 4, 8 s, each up to 10% longer."""


def policy_for(event: WebhookEvent | str) -> WebhookRetryPolicy:
    """Select the retry policy of an event.

    Args:
        event: A ``WebhookEvent`` or its value.

    Returns:
        ``STARTUP_POLICY`` for the four ``instance.startup_*`` events, else ``ORDINARY_POLICY``.

    Example:
        >>> policy_for(WebhookEvent.STARTUP_PROGRESS).max_attempts
        5
        >>> policy_for("instance.ready").max_attempts
        3

    """
    return STARTUP_POLICY if is_startup_event(event) else ORDINARY_POLICY


def is_retryable_status(status_code: int) -> bool:
    """Tell whether a receiver's HTTP status is worth another attempt.

    408 (request timeout), 429 (too many requests) and every 5xx are transient; any other
    answer is final (2xx: delivered; other 4xx: the receiver rejects this request and would
    reject it again).

    Example:
        >>> [is_retryable_status(code) for code in (408, 429, 500, 503, 400, 401, 404)]
        [True, True, True, True, False, False, False]

    """
    return status_code in (408, 429) or 500 <= status_code <= 599
