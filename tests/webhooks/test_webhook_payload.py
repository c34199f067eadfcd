import json
import uuid
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal

import pytest
from pydantic import BaseModel

from clients.webhook_payload import (
    STARTUP_EVENTS,
    WebhookEvent,
    build_webhook_body,
    format_webhook_timestamp,
    is_startup_event,
)

MOMENT = datetime(2026, 11, 22, 4, 30, tzinfo=UTC)


def test_all_fourteen_events_with_their_wire_values() -> None:
    assert [e.value for e in WebhookEvent] == [
        "instance.created",
        "instance.running",
        "instance.health_checking",
        "instance.ready",
        "instance.failed",
        "instance.startup_initiated",
        "instance.startup_progress",
        "instance.startup_completed",
        "instance.startup_failed",
        "instance.stopped",
        "instance.auto_stopped",
        "instance.deleted",
        "instance.migrated",
        "instance.migration_failed",
    ]
    assert {e.value for e in STARTUP_EVENTS} == {
        "instance.startup_initiated",
        "instance.startup_progress",
        "instance.startup_completed",
        "instance.startup_failed",
    }


def test_is_startup_event_accepts_strings_and_unknowns() -> None:
    assert is_startup_event("instance.startup_failed")
    assert not is_startup_event(WebhookEvent.MIGRATED)
    assert not is_startup_event("instance.nonsense")


def test_body_shape_key_order_and_compactness() -> None:
    body = build_webhook_body(
        WebhookEvent.READY, "ready", "a1b2c3d4e5f60718", {"region": "AS-SGP-02"}, MOMENT
    )
    assert body == (
        b'{"event":"instance.ready","status":"ready","instanceId":"a1b2c3d4e5f60718",'
        b'"timestamp":"2026-11-22T04:30:00.000Z","data":{"region":"AS-SGP-02"}}'
    )


def test_non_ascii_is_kept_as_utf8_not_escaped() -> None:
    body = build_webhook_body("instance.created", "creating", "x", {"name": "Zürich 東京 ✓"})
    assert "Zürich 東京 ✓".encode() in body
    assert b"\\u" not in body
    assert json.loads(body.decode("utf-8"))["data"]["name"] == "Zürich 東京 ✓"


def test_timestamp_is_utc_with_milliseconds_and_z() -> None:
    paris = timezone(timedelta(hours=1))
    moment = datetime(2026, 11, 22, 5, 30, 0, 123456, tzinfo=paris)
    assert format_webhook_timestamp(moment) == "2026-11-22T04:30:00.123Z"
    # naive datetimes are taken as UTC already
    assert format_webhook_timestamp(datetime(2026, 1, 2, 3, 4, 5)) == "2026-01-02T03:04:05.000Z"


def test_default_timestamp_is_now() -> None:
    before = datetime.now(UTC) - timedelta(seconds=1)
    body = json.loads(build_webhook_body("instance.stopped", "stopped", "x", {}))
    stamp = datetime.fromisoformat(body["timestamp"].replace("Z", "+00:00"))
    assert before <= stamp <= datetime.now(UTC) + timedelta(seconds=1)


def test_data_values_serialised_sensibly() -> None:
    class Price(BaseModel):
        amount: Decimal
        at: datetime

    ident = uuid.UUID("12345678-1234-5678-1234-567812345678")
    data = {
        "price": Decimal("0.35"),
        "startedAt": datetime(2026, 11, 22, 4, 30, 1, tzinfo=UTC),
        "day": date(2026, 11, 22),
        "id": ident,
        "event": WebhookEvent.READY,
        "model": Price(amount=Decimal("1.50"), at=MOMENT),
        "ports": (8888, 22),
        "error": {"code": "INSUFFICIENT_RESOURCE", "message": None},
    }
    parsed = json.loads(build_webhook_body("instance.ready", "ready", "x", data, MOMENT))["data"]
    assert parsed["price"] == "0.35"  # exact, as a string
    assert parsed["startedAt"] == "2026-11-22T04:30:01.000Z"
    assert parsed["day"] == "2026-11-22"
    assert parsed["id"] == str(ident)
    assert parsed["event"] == "instance.ready"
    assert parsed["model"]["amount"] == "1.50"
    assert parsed["ports"] == [8888, 22]
    assert parsed["error"] == {"code": "INSUFFICIENT_RESOURCE", "message": None}


def test_instance_id_may_be_null_and_data_defaults_to_empty() -> None:
    parsed = json.loads(build_webhook_body("instance.failed", "failed", None))
    assert parsed["instanceId"] is None
    assert parsed["data"] == {}


def test_unknown_event_and_nan_are_rejected() -> None:
    with pytest.raises(ValueError):
        build_webhook_body("instance.exploded", "failed", "x", {})
    with pytest.raises(ValueError):
        build_webhook_body("instance.ready", "ready", "x", {"price": float("nan")})
