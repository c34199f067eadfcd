"""The WebhookSettings block carries the outbound rules to the sender and prober it builds."""

from __future__ import annotations

import pytest
from pydantic import SecretStr, ValidationError

from blocks import WebhookSettings
from clients.webhook_payload import WebhookEvent, build_webhook_body

from .receiver import Receiver

BODY = build_webhook_body(WebhookEvent.READY, "ready", "a1b2c3d4e5f60718", {})
SECRET = SecretStr("test-secret-not-real")


def test_defaults_are_not_strict() -> None:
    settings = WebhookSettings()
    assert settings.strict_outbound is False and settings.outbound_allow_list == []
    assert settings.get_sender().guard.policy.strict is False


async def test_strict_block_refuses_loopback_and_its_allow_list_lets_it_through(
    receiver: Receiver,
) -> None:
    strict = WebhookSettings(signing_secret=SECRET, strict_outbound=True)
    async with strict.get_sender() as sender:
        refused = await sender.deliver(receiver.url, BODY, WebhookEvent.READY)
    assert not refused.delivered and "strict outbound mode" in (refused.error or "")

    allowing = WebhookSettings(
        signing_secret=SECRET, strict_outbound=True, outbound_allow_list=["127.0.0.1"]
    )
    async with allowing.get_sender() as sender:
        delivered = await sender.deliver(receiver.url, BODY, WebhookEvent.READY)
    assert delivered.delivered and len(receiver.requests) == 1
    assert "X-Webhook-Signature" in receiver.requests[0].headers


async def test_block_rules_reach_the_prober() -> None:
    settings = WebhookSettings(strict_outbound=True, outbound_allow_list=["10.20.0.0/16"])
    async with settings.get_prober() as prober:
        check = await prober.check_tcp("10.0.0.1", 22, attempts=1)
    assert prober.guard.policy.allow_list == ("10.20.0.0/16",)
    assert "10.0.0.1 is a private address" in (check.error or "")


def test_unreadable_allow_list_entry_is_refused() -> None:
    with pytest.raises(ValidationError, match="neither a host name nor a CIDR"):
        WebhookSettings(outbound_allow_list=["https://hooks.example/path"])
