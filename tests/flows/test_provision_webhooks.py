"""Webhooks inside provision-instance, with a real receiver: retried, final, or kept for later.

The sender's real retry waits (1 s, then 2 s) run here, so these few tests take seconds; the
ones that need no readiness use `wait_until_ready=False`, so only `instance.created` is sent.
"""

from __future__ import annotations

import json
import socket
import uuid
from datetime import UTC, datetime

import pytest

from clients.webhook_payload import WebhookEvent
from clients.webhook_retry_policy import WebhookRetryPolicy, policy_for
from flows.provision import provision_instance
from simulator.server import SimulatorServer
from store import DeliveryStatus, StateStore
from tests.webhooks.receiver import Receiver

GOOD = {"product_name": "RTX 4090 24GB", "template_id": "1001", "regions": ["US-CA-06"]}


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def closed_port_url() -> str:
    """A loopback URL nobody listens on: the port was free a moment ago and is closed now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return f"http://127.0.0.1:{port}/hooks/novita"


async def test_retried_delivery_lands_on_the_third_attempt(
    sim: SimulatorServer, receiver: Receiver, store: StateStore
) -> None:
    receiver.script(500, 500, 200)
    result = await provision_instance(
        name=unique("retry"), webhook_url=receiver.url, wait_until_ready=False, **GOOD
    )
    assert result.status == "creating"
    ids = {r.headers["X-Webhook-Delivery"] for r in receiver.requests}
    assert len(receiver.requests) == 3 and len(ids) == 1  # one delivery, three attempts
    delivery = await store.get_delivery(ids.pop())
    assert delivery is not None
    assert delivery.status == DeliveryStatus.DELIVERED and delivery.attempts == 3
    assert delivery.last_status_code == 200 and delivery.next_attempt_at is None
    # what is kept is exactly what was signed and sent
    assert delivery.payload.encode() == receiver.requests[-1].body
    assert delivery.event == "instance.created" and delivery.instance_id == result.instance_id


async def test_client_error_is_final_and_does_not_fail_the_flow(
    sim: SimulatorServer, receiver: Receiver, store: StateStore
) -> None:
    receiver.script(400)
    result = await provision_instance(
        name=unique("final"), webhook_url=receiver.url, wait_until_ready=False, **GOOD
    )
    assert result.instance_id and result.status == "creating"
    assert len(receiver.requests) == 1
    delivery = await store.get_delivery(receiver.requests[0].headers["X-Webhook-Delivery"])
    assert delivery is not None
    assert delivery.status == DeliveryStatus.FAILED and delivery.attempts == 1
    assert delivery.last_status_code == 400 and "HTTP 400" in (delivery.last_error or "")


async def test_receiver_down_still_reaches_ready_and_keeps_every_delivery(
    sim: SimulatorServer, store: StateStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Same attempt count as in production, shorter waits: four events x (1 s + 2 s) would
    # add 12 s, and the waits themselves are covered by the test above and the sender's tests.
    def quick(event: WebhookEvent | str) -> WebhookRetryPolicy:
        policy = policy_for(event)
        return policy.model_copy(update={"initial_wait_s": 0.01})

    monkeypatch.setattr("clients.webhook_sender.policy_for", quick)
    before = datetime.now(UTC)
    result = await provision_instance(name=unique("down"), webhook_url=closed_port_url(), **GOOD)
    assert result.status == "ready"

    deliveries = await store.list_deliveries(instance_id=result.instance_id)
    assert sorted(d.event for d in deliveries) == sorted(
        ["instance.created", "instance.running", "instance.health_checking", "instance.ready"]
    )
    for delivery in deliveries:
        assert delivery.status == DeliveryStatus.FAILED
        assert delivery.attempts == 3 and delivery.last_status_code is None
        assert "connection failed" in (delivery.last_error or "")
        body = json.loads(delivery.payload)
        assert body["event"] == delivery.event and body["instanceId"] == result.instance_id
        assert delivery.next_attempt_at is not None and delivery.next_attempt_at > before
