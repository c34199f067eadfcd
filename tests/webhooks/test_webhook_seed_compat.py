"""Seed-compatible bodies: the seed's top-level fields, and a signature that survives JavaScript.

A receiver written for the seed system reads `body.instance.connectionDetails.ssh`, a
top-level `error`, `originalInstanceId` and `migration`, and verifies the HMAC over
`JSON.stringify(JSON.parse(body))`. Every event the project knows is built here with the
kinds of values the flows put in it (float minutes, Decimal prices, health reports) and
checked by a real Node.js receiver (`tests/webhooks/js_receiver.py`).
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest

from clients.webhook_json import to_js_json
from clients.webhook_payload import WebhookEvent, build_webhook_body
from clients.webhook_signature import sign_webhook_body

from .js_receiver import js_accepts

SECRET = "test-secret-not-real"
IID = "a1b2c3d4e5f60718"
MOMENT = datetime(2026, 11, 22, 4, 30, 1, 250000, tzinfo=UTC)
RECORD = {  # what `record_event_data` gives every lifecycle webhook
    "name": "trainer-1",
    "region": "US-CA-06",
    "clusterId": "us-ca-6",
    "product": "RTX 4090 24GB",
    "productId": "rtx4090-24g.us-ca-6",
    "billingMode": "spot",
    "pricePerHour": Decimal("0.35"),
}
CONNECTION = {
    "portMappings": [{"port": 8888, "endpoint": "https://h/8888", "type": "http"}],
    "connectionDetails": {
        "ssh": "ssh root@h -p 2222",
        "jupyter": "https://h/jupyter",
        "web_terminal": "https://h/webterminal",
        "http_8888": "https://h/8888",
    },
}
HEALTH = {
    "healthy": True,
    "checkedAt": MOMENT,
    "elapsedSeconds": 45.0,
    "endpoints": [{"port": 8888, "status": 200, "responseTimeMs": 12.0, "attempts": 1}],
}
ERROR = {"error": {"code": "INSUFFICIENT_RESOURCE", "message": "no capacity in US-CA-06"}}
START = {"startupOperation": {"phase": "initiated", "startedAt": MOMENT, "flowRunId": None}}
MIGRATION = {"from": "0000000000000001", "to": IID, "method": "recreate", "region": "EU-DE-01"}

SAMPLES: dict[WebhookEvent, tuple[str, dict[str, Any]]] = {
    WebhookEvent.CREATED: ("creating", RECORD),
    WebhookEvent.RUNNING: ("running", RECORD | CONNECTION),
    WebhookEvent.HEALTH_CHECKING: ("health_checking", RECORD | CONNECTION),
    WebhookEvent.READY: ("ready", RECORD | CONNECTION | {"healthCheck": HEALTH}),
    WebhookEvent.FAILED: ("failed", {"name": "trainer-1", "regionsTried": []} | ERROR),
    WebhookEvent.STARTUP_INITIATED: ("starting", RECORD | START | {"novitaState": "toStart"}),
    WebhookEvent.STARTUP_PROGRESS: ("running", RECORD | START | CONNECTION),
    WebhookEvent.STARTUP_COMPLETED: (
        "ready",
        RECORD | START | CONNECTION | {"healthCheck": HEALTH},
    ),
    WebhookEvent.STARTUP_FAILED: ("failed", RECORD | START | ERROR),
    WebhookEvent.STOPPED: ("stopped", RECORD | {"stoppedAt": MOMENT, "previousStatus": "ready"}),
    WebhookEvent.AUTO_STOPPED: (
        "stopped",
        RECORD | {"idleMinutes": 45.0, "threshold": 20, "lastUsedAt": MOMENT, "stoppedAt": MOMENT},
    ),
    WebhookEvent.DELETED: ("deleted", RECORD | {"alreadyGone": False, "reason": "removed"}),
    WebhookEvent.MIGRATED: (
        "ready",
        RECORD | CONNECTION | {"migration": MIGRATION, "healthCheck": HEALTH},
    ),
    WebhookEvent.MIGRATION_FAILED: ("failed", RECORD | ERROR | {"migration": MIGRATION}),
}
SEED_MIGRATION = {
    "originalInstanceId": "0000000000000001",
    "migration": {
        "reason": "spot_reclaim",
        "triggeredBy": "automatic_migration",
        "migrationTime": 45000,
    },
}


def body_of(event: WebhookEvent) -> bytes:
    status, data = SAMPLES[event]
    top = SEED_MIGRATION if event is WebhookEvent.MIGRATED else None
    return build_webhook_body(event, status, IID, data, MOMENT, top_level=top)


def test_a_javascript_receiver_accepts_every_event() -> None:
    assert set(SAMPLES) == set(WebhookEvent), "a new event needs a sample here"
    bodies = [body_of(event) for event in WebhookEvent]
    verdicts = js_accepts(SECRET, [(b, sign_webhook_body(SECRET, b)) for b in bodies])
    refused = [e.value for e, v in zip(WebhookEvent, verdicts, strict=True) if not v["accepted"]]
    assert refused == []
    assert all(v["same"] for v in verdicts)


def test_integral_floats_are_integers_and_money_stays_exact() -> None:
    body = body_of(WebhookEvent.AUTO_STOPPED)
    assert b'"idleMinutes":45,' in body and b"45.0" not in body
    assert json.loads(body)["data"]["pricePerHour"] == "0.35"
    assert to_js_json({"a": 1e-7, "b": -0.0, "c": 1e21, "d": 0.1}) == (
        '{"a":1e-7,"b":0,"c":1e+21,"d":0.1}'
    )


def test_ready_running_and_migrated_carry_the_seed_instance_block() -> None:
    for event in (WebhookEvent.READY, WebhookEvent.RUNNING, WebhookEvent.MIGRATED):
        body = json.loads(body_of(event))
        instance = body["instance"]
        assert instance["id"] == IID and instance["name"] == "trainer-1"
        details = instance["connectionDetails"]
        assert details["ssh"] == "ssh root@h -p 2222"
        assert details["jupyter"] == "https://h/jupyter"
        assert details["webTerminal"] == "https://h/webterminal"
        # today's fields are all still there
        assert body["data"]["connectionDetails"]["web_terminal"] == "https://h/webterminal"
    assert "instance" not in json.loads(body_of(WebhookEvent.STOPPED))


@pytest.mark.parametrize(
    "event",
    [WebhookEvent.FAILED, WebhookEvent.STARTUP_FAILED, WebhookEvent.MIGRATION_FAILED],
)
def test_failures_carry_a_top_level_error(event: WebhookEvent) -> None:
    body = json.loads(body_of(event))
    assert body["error"] == {"code": "INSUFFICIENT_RESOURCE", "message": "no capacity in US-CA-06"}
    assert body["data"]["error"] == body["error"]


def test_migrated_names_the_original_instance_and_the_migration() -> None:
    body = json.loads(body_of(WebhookEvent.MIGRATED))
    assert body["originalInstanceId"] == "0000000000000001"
    assert body["migration"] == {
        "reason": "spot_reclaim",
        "triggeredBy": "automatic_migration",
        "migrationTime": 45000,
    }
    assert body["data"]["migration"] == MIGRATION | {"to": IID}
    assert list(body)[:5] == ["event", "status", "instanceId", "timestamp", "data"]


def test_top_level_fields_cannot_replace_the_core_keys() -> None:
    with pytest.raises(ValueError, match="instanceId"):
        build_webhook_body("instance.ready", "ready", IID, {}, top_level={"instanceId": "x"})
