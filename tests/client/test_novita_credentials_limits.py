"""The NovitaCredentials block hands its deadline and size limit to the client it builds."""

from __future__ import annotations

import pytest
from pydantic import SecretStr, ValidationError

from blocks import NovitaCredentials

FAKE_KEY = "sk_test_FAKE_not_a_real_key"


async def test_block_defaults_match_the_client_defaults() -> None:
    client = NovitaCredentials(api_key=SecretStr(FAKE_KEY)).get_client()
    async with client:
        # 10 s bounds one operation against a silent Novita at ~45 s (tests/faults)
        assert client.attempt_limits.deadline == 10.0
        assert client.attempt_limits.max_response_bytes == 8 * 1024 * 1024


async def test_block_limits_reach_the_client() -> None:
    creds = NovitaCredentials(
        api_key=SecretStr(FAKE_KEY), request_deadline_seconds=7.5, max_response_mb=0.5
    )
    async with creds.get_client() as client:
        assert client.attempt_limits.deadline == 7.5
        assert client.attempt_limits.max_response_bytes == 512 * 1024


def test_block_refuses_a_zero_deadline() -> None:
    with pytest.raises(ValidationError):
        NovitaCredentials(api_key=SecretStr(FAKE_KEY), request_deadline_seconds=0)


def test_the_environment_sets_the_deadline(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NOVITA_API_KEY", FAKE_KEY)
    monkeypatch.setenv("NOVITA_REQUEST_DEADLINE_SECONDS", "4.5")
    assert NovitaCredentials.from_environment().request_deadline_seconds == 4.5


@pytest.mark.parametrize("value", ["soon", "0", "-3", "601"])
def test_a_bad_deadline_in_the_environment_names_the_variable(
    monkeypatch: pytest.MonkeyPatch, value: str
) -> None:
    monkeypatch.setenv("NOVITA_API_KEY", FAKE_KEY)
    monkeypatch.setenv("NOVITA_REQUEST_DEADLINE_SECONDS", value)
    with pytest.raises(ValueError, match=r"request_deadline_seconds|NOVITA_REQUEST_DEADLINE"):
        NovitaCredentials.from_environment()
