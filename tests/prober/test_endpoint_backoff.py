import random

import pytest
from pydantic import ValidationError

from clients.endpoint_backoff import ProbeBackoff


def test_exponential_then_capped() -> None:
    backoff = ProbeBackoff()
    assert [backoff.base_wait(n) for n in range(1, 8)] == [1, 2, 4, 8, 15, 15, 15]
    assert backoff.base_wait(10_000) == 15  # no overflow far past the cap


def test_jitter_stays_within_half_and_one_and_a_half() -> None:
    backoff = ProbeBackoff()
    rng = random.Random(3)
    samples = [backoff.wait_before_retry(n, rng) for n in range(1, 8) for _ in range(300)]
    waits_by_retry = [samples[i * 300 : (i + 1) * 300] for i in range(7)]
    for n, waits in enumerate(waits_by_retry, start=1):
        base = backoff.base_wait(n)
        assert all(0.5 * base <= w <= 1.5 * base for w in waits)
        # really jittered: both halves of the range are used
        assert min(waits) < base < max(waits)


def test_custom_schedule_and_validation() -> None:
    backoff = ProbeBackoff(base_s=0.5, factor=3, cap_s=10, jitter_min=1, jitter_max=1)
    assert [backoff.wait_before_retry(n) for n in (1, 2, 3, 4)] == [0.5, 1.5, 4.5, 10]
    with pytest.raises(ValidationError):
        ProbeBackoff(jitter_min=1.5, jitter_max=0.5)
