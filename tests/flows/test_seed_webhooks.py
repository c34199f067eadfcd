"""Every event the flows send, as a seed-style JavaScript receiver sees it.

One short life story with one real receiver: provision (created, running, health_checking,
ready), stop, start (startup_*), a spot reclaim migrated (migrated), auto-stop, delete; a
second machine whose migration and start fail (migration_failed, startup_failed); and a
provisioning with no capacity anywhere (failed). Every body the receiver got is then checked by
Node.js the way a receiver written for the seed system checks it: HMAC over
`JSON.stringify(JSON.parse(body))`.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from clients.webhook_payload import WebhookEvent
from flows.auto_stop_sweep import auto_stop_sweep
from flows.instances.errors import StartFailedError
from flows.lifecycle import delete_instance_flow, start_instance_flow, stop_instance_flow
from flows.migration_sweep import migration_sweep
from flows.provision import ProvisioningFailedError, provision_instance
from simulator.server import SimulatorServer
from store import StateStore
from tests.flows.conftest import WEBHOOK_SECRET
from tests.flows.test_migration_sweep import reclaim
from tests.webhooks.js_receiver import js_accepts
from tests.webhooks.receiver import Receiver

PRODUCT = {"product_name": "RTX 4090 24GB", "template_id": "1001"}
EVERY_CLUSTER = ("as-sgp-2", "oc-au-1", "us-ca-6", "us-west-1", "eu-de-1")
"""Every cluster that offers an RTX 4090 24GB in the simulator."""


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


async def provision(name: str, receiver: Receiver) -> str:
    result = await provision_instance(name=name, webhook_url=receiver.url, **PRODUCT)
    assert result.instance_id and result.status == "ready"
    return result.instance_id


async def test_a_javascript_receiver_accepts_every_event_the_flows_send(
    sim: SimulatorServer, receiver: Receiver, store: StateStore
) -> None:
    a, c = await asyncio.gather(
        provision(unique("seed-a"), receiver), provision(unique("seed-c"), receiver)
    )
    await stop_instance_flow(instance_id=a)
    await start_instance_flow(instance_id=a)
    await reclaim(sim, a)
    assert [m.instance_id for m in (await migration_sweep()).migrated] == [a]
    eight_days_ago = datetime.now(UTC) - timedelta(days=8)
    await store.upsert_instance(instance_id=a, ready_at=eight_days_ago)
    assert (await auto_stop_sweep(inactivity_minutes=10080)).stopped == [a]
    await delete_instance_flow(instance_id=a)

    await reclaim(sim, c)
    sim.fail_migrations("error", instance_id=c)
    for cluster in EVERY_CLUSTER:
        sim.set_capacity(cluster)  # nothing can take c again, nor a new machine
    assert [e.instance_id for e in (await migration_sweep()).errors] == [c]
    with pytest.raises(StartFailedError):
        await start_instance_flow(instance_id=c)
    with pytest.raises(ProvisioningFailedError):
        await provision_instance(name=unique("seed-d"), webhook_url=receiver.url, **PRODUCT)

    requests = [(r.body, r.headers["X-Webhook-Signature"]) for r in receiver.requests]
    bodies: list[dict[str, Any]] = [json.loads(body) for body, _ in requests]
    assert {b["event"] for b in bodies} == {e.value for e in WebhookEvent}
    verdicts = js_accepts(WEBHOOK_SECRET, requests)
    refused = [b["event"] for b, v in zip(bodies, verdicts, strict=True) if not v["accepted"]]
    assert refused == []

    def first(event: WebhookEvent) -> dict[str, Any]:
        return next(b for b in bodies if b["event"] == event.value)

    for event in (WebhookEvent.READY, WebhookEvent.RUNNING, WebhookEvent.MIGRATED):
        details = first(event)["instance"]["connectionDetails"]
        assert details["ssh"].startswith("ssh ") and details["webTerminal"].startswith("http")
    migrated = first(WebhookEvent.MIGRATED)
    assert migrated["originalInstanceId"] == a and migrated["instance"]["id"] == a
    assert migrated["migration"]["reason"] == "spot_reclaim"
    assert isinstance(migrated["migration"]["migrationTime"], int)
    for event in (WebhookEvent.FAILED, WebhookEvent.STARTUP_FAILED, WebhookEvent.MIGRATION_FAILED):
        body = first(event)
        assert body["error"] == body["data"]["error"] and body["error"]["code"]
