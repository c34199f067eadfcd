"""The wait between health-check attempts: exponential, capped, with 0.5-1.5x jitter.

Wait before retry ``n`` (1-based) = ``min(base * factor ** (n - 1), cap) * U(0.5, 1.5)``.
The cap applies before the jitter, so late waits keep spreading (7.5-22.5 s with the
defaults) instead of all landing on the cap at once: many instances provisioned together
then do not probe the proxy in lock-step.
"""

from __future__ import annotations

import random

from pydantic import BaseModel, ConfigDict, Field, model_validator

__all__ = ["ProbeBackoff"]


class ProbeBackoff(BaseModel):
    """Exponential backoff with a cap and multiplicative jitter.

    Example:
        >>> backoff = ProbeBackoff()
        >>> [backoff.base_wait(n) for n in range(1, 7)]
        [1.0, 2.0, 4.0, 8.0, 15.0, 15.0]
        >>> 0.5 <= backoff.wait_before_retry(1) <= 1.5
        True

    """

    model_config = ConfigDict(frozen=True)

    base_s: float = Field(default=1.0, ge=0)
    factor: float = Field(default=2.0, ge=1)
    cap_s: float = Field(default=15.0, ge=0)
    jitter_min: float = Field(default=0.5, ge=0)
    jitter_max: float = Field(default=1.5, ge=0)

    @model_validator(mode="after")
    def _jitter_bounds_ordered(self) -> ProbeBackoff:
        """Reject an empty jitter range early rather than at the first retry."""
        if self.jitter_min > self.jitter_max:
            raise ValueError("jitter_min must not exceed jitter_max")
        return self

    def base_wait(self, retry_number: int) -> float:
        """Return the capped wait before retry ``retry_number`` (1-based), before jitter.

        Example:
            >>> ProbeBackoff().base_wait(3)
            4.0

        """
        # Past the cap the exponent only grows the float; stop computing it there.
        exponent = min(retry_number - 1, 64)
        return min(self.base_s * self.factor**exponent, self.cap_s)

    def wait_before_retry(self, retry_number: int, rng: random.Random | None = None) -> float:
        """Return the wait before retry ``retry_number`` (1-based), jitter included.

        Args:
            retry_number: 1 for the wait after the first failed attempt, and so on.
            rng: Source of randomness (tests may pass a seeded one); the module's by default.

        Example:
            >>> 1.0 <= ProbeBackoff().wait_before_retry(2) <= 3.0
            True

        """
        jitter = (rng or random).uniform(self.jitter_min, self.jitter_max)
        return self.base_wait(retry_number) * jitter
