"""Webhook receivers pass the outbound guard: a refused one is a failed delivery, not a crash."""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest

from clients.webhook_payload import WebhookEvent, build_webhook_body
from clients.webhook_sender import WebhookSender

from .fake_dns import FakeDns
from .receiver import Receiver, RecordingSleep

SECRET = "test-secret-not-real"
BODY = build_webhook_body(WebhookEvent.READY, "ready", "a1b2c3d4e5f60718", {})


@pytest.mark.parametrize(
    ("url", "rule"),
    [
        ("http://169.254.169.254/latest/meta-data/", "169.254.169.254 is link-local"),
        ("http://metadata.google.internal/computeMetadata/v1/", "cloud metadata host name"),
        ("http://[fd00:ec2::254]/latest/", "AWS metadata service"),
    ],
)
async def test_metadata_receivers_are_refused_by_default(
    url: str, rule: str, sleep: RecordingSleep
) -> None:
    async with WebhookSender(SECRET, sleep=sleep) as sender:
        result = await sender.deliver(url, BODY, WebhookEvent.READY, "d-meta")
    assert not result.delivered and result.attempts == 1 and result.status_code is None
    assert result.error is not None
    assert "outbound guard refused" in result.error and rule in result.error
    assert "(always refused)" in result.error
    assert sleep.waits == []  # not retried: the same rule would refuse it again


async def test_a_name_resolving_to_metadata_is_refused(sleep: RecordingSleep) -> None:
    dns = FakeDns({"hooks.example": [["203.0.113.9", "169.254.169.254"]]})
    async with WebhookSender(SECRET, sleep=sleep, resolver=dns) as sender:
        result = await sender.deliver("https://hooks.example/x", BODY, WebhookEvent.READY)
    assert not result.delivered and "169.254.169.254 is link-local" in (result.error or "")
    assert dns.lookups == ["hooks.example"]


@pytest.mark.parametrize(
    ("url", "rule"),
    [
        ("http://10.0.0.1:9/hooks", "10.0.0.1 is a private address (10.0.0.0/8)"),
        ("http://[fd00::1]:9/hooks", "fd00::1 is a private address (unique local, fc00::/7)"),
    ],
)
async def test_strict_mode_refuses_private_receivers(
    url: str, rule: str, sleep: RecordingSleep
) -> None:
    async with WebhookSender(SECRET, sleep=sleep, strict_outbound=True) as sender:
        result = await sender.deliver(url, BODY, WebhookEvent.READY)
    assert not result.delivered and result.attempts == 1
    assert rule in (result.error or "") and "strict outbound mode" in (result.error or "")


async def test_strict_mode_refuses_a_loopback_receiver_not_allow_listed(
    receiver: Receiver, sleep: RecordingSleep
) -> None:
    async with WebhookSender(SECRET, sleep=sleep, strict_outbound=True) as sender:
        result = await sender.deliver(receiver.url, BODY, WebhookEvent.READY)
    assert not result.delivered and "loopback" in (result.error or "")
    assert receiver.requests == []


async def test_strict_mode_delivers_to_an_allow_listed_loopback_receiver(
    receiver: Receiver, sleep: RecordingSleep
) -> None:
    sender = WebhookSender(
        SECRET, sleep=sleep, strict_outbound=True, outbound_allow_list=["127.0.0.1"]
    )
    async with sender:
        result = await sender.deliver(receiver.url, BODY, WebhookEvent.READY)
    assert result.delivered and result.status_code == 200
    assert len(receiver.requests) == 1 and receiver.requests[0].body == BODY


async def test_connection_goes_to_the_checked_address_with_the_name_kept(
    receiver: Receiver, sleep: RecordingSleep
) -> None:
    # hooks.test exists only in the fake DNS: delivery proves the socket went to the
    # address the guard checked, while the Host header still names the receiver.
    port = urlsplit(receiver.url).port
    dns = FakeDns({"hooks.test": [["127.0.0.1"]]})
    sender = WebhookSender(
        SECRET, sleep=sleep, strict_outbound=True, outbound_allow_list=["hooks.test"], resolver=dns
    )
    async with sender:
        result = await sender.deliver(
            f"http://hooks.test:{port}/hooks/novita", BODY, "instance.ready"
        )
    assert result.delivered
    assert receiver.requests[0].headers["Host"] == f"hooks.test:{port}"


async def test_each_connection_is_checked_again_at_send_time(
    receiver: Receiver, sleep: RecordingSleep
) -> None:
    # The name turns into the metadata address after the first delivery (DNS rebinding).
    port = urlsplit(receiver.url).port
    dns = FakeDns({"hooks.test": [["127.0.0.1"], ["169.254.169.254"]]})
    url = f"http://hooks.test:{port}/hooks/novita"
    async with WebhookSender(SECRET, sleep=sleep, resolver=dns) as sender:
        first = await sender.deliver(url, BODY, WebhookEvent.READY)
        second = await sender.deliver(url, BODY, WebhookEvent.READY)
    assert first.delivered
    assert not second.delivered and "169.254.169.254 is link-local" in (second.error or "")
    assert len(receiver.requests) == 1


async def test_default_mode_still_delivers_to_localhost(
    receiver: Receiver, sleep: RecordingSleep
) -> None:
    async with WebhookSender(SECRET, sleep=sleep) as sender:
        result = await sender.deliver(receiver.url, BODY, WebhookEvent.READY)
    assert result.delivered
