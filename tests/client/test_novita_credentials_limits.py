"""The NovitaCredentials block hands its deadline and size limit to the client it builds."""

from __future__ import annotations

import pytest
from pydantic import SecretStr, ValidationError

from blocks import NovitaCredentials

FAKE_KEY = "sk_test_FAKE_not_a_real_key"


async def test_block_defaults_match_the_client_defaults() -> None:
    client = NovitaCredentials(api_key=SecretStr(FAKE_KEY)).get_client()
    async with client:
        assert client.attempt_limits.deadline == 30.0
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
