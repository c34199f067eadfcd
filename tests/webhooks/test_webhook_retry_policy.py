import random

import pytest
from pydantic import ValidationError

from clients.webhook_payload import STARTUP_EVENTS, WebhookEvent
from clients.webhook_retry_policy import (
    ORDINARY_POLICY,
    STARTUP_POLICY,
    WebhookRetryPolicy,
    is_retryable_status,
    policy_for,
)


@pytest.mark.parametrize("event", list(WebhookEvent))
def test_policy_for_every_event(event: WebhookEvent) -> None:
    expected = STARTUP_POLICY if event in STARTUP_EVENTS else ORDINARY_POLICY
    assert policy_for(event) is expected
    assert policy_for(event.value) is expected


def test_schedules() -> None:
    assert ORDINARY_POLICY.max_attempts == 3
    assert ORDINARY_POLICY.base_waits() == (1.0, 2.0)
    assert ORDINARY_POLICY.jitter_ratio == 0
    assert STARTUP_POLICY.max_attempts == 5
    assert STARTUP_POLICY.base_waits() == (1.0, 2.0, 4.0, 8.0)


def test_ordinary_waits_are_exact_and_startup_waits_jitter_up_to_ten_percent() -> None:
    rng = random.Random(7)
    assert [ORDINARY_POLICY.wait_before_retry(n, rng) for n in (1, 2)] == [1.0, 2.0]
    for _ in range(200):
        for n, base in enumerate((1.0, 2.0, 4.0, 8.0), start=1):
            assert base <= STARTUP_POLICY.wait_before_retry(n, rng) <= base * 1.1


def test_policy_is_validated_and_frozen() -> None:
    with pytest.raises(ValidationError):
        WebhookRetryPolicy(max_attempts=0)
    with pytest.raises(ValidationError):
        ORDINARY_POLICY.max_attempts = 9  # type: ignore[misc]


@pytest.mark.parametrize(
    ("status", "retryable"),
    [
        *[(code, True) for code in (408, 429, 500, 502, 599)],
        *[(code, False) for code in (400, 401, 403, 404, 410, 422)],
    ],
)
def test_retryable_statuses(status: int, retryable: bool) -> None:
    assert is_retryable_status(status) is retryable
