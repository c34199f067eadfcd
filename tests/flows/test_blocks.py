"""Blocks: registration through the prefect CLI, saved-block resolution, env fallback, secrets."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from pathlib import Path

import pytest
from pydantic import SecretStr, ValidationError

from blocks import MissingCredentialsError, NovitaCredentials, NovitaPolicies, WebhookSettings

ROOT = Path(__file__).resolve().parents[2]
FAKE_KEY = "sk_fake_block_key_never_shown_42"


async def test_prefect_block_register_finds_every_block(prefect_server: None) -> None:
    from prefect.settings import get_current_settings

    env = os.environ | {"PREFECT_API_URL": str(get_current_settings().api.url)}
    done = await asyncio.to_thread(
        subprocess.run,
        [str(Path(sys.executable).with_name("prefect")), "block", "register", "-m", "blocks"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    from prefect.client.orchestration import get_client

    async with get_client() as client:
        slugs = {t.slug for t in await client.read_block_types()}
    assert {"novita-credentials", "novita-webhook-settings", "novita-policies"} <= slugs


async def test_saved_block_wins_over_environment(
    prefect_server: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("NOVITA_API_KEY", "sk_env_key_fake")
    await NovitaCredentials(api_key=FAKE_KEY, base_url="http://127.0.0.1:9/x").asave(
        "saved-creds", overwrite=True
    )
    named = await NovitaCredentials.resolve("saved-creds")
    assert named.api_key.get_secret_value() == FAKE_KEY
    assert named.base_url == "http://127.0.0.1:9/x"
    with pytest.raises(ValueError):
        await NovitaCredentials.resolve("no-such-block")


def test_environment_fallback_and_missing_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NOVITA_API_KEY", FAKE_KEY)
    monkeypatch.setenv("NOVITA_API_BASE_URL", "http://127.0.0.1:8765/gpu-instance/openapi/v1")
    creds = NovitaCredentials.from_environment()
    assert creds.base_url.startswith("http://127.0.0.1:8765")
    assert FAKE_KEY not in repr(creds) and FAKE_KEY not in repr(creds.get_client())
    monkeypatch.delenv("NOVITA_API_KEY")
    with pytest.raises(MissingCredentialsError, match="NOVITA_API_KEY"):
        NovitaCredentials.from_environment()


def test_webhook_secret_too_short_is_refused_without_echo() -> None:
    with pytest.raises(ValidationError) as caught:
        WebhookSettings(signing_secret=SecretStr("short"))
    assert "signing_secret" in str(caught.value) and "short'" not in str(caught.value)


def test_policies_defaults_follow_the_design() -> None:
    policies = NovitaPolicies.fallback()
    assert policies.auto_stop_minutes == 20
    assert policies.migration_cooldown_minutes == 30
    assert policies.migration_max_attempts == 3
    assert policies.readiness_deadline_minutes == 10
