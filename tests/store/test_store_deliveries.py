"""Webhook deliveries: lifecycle, idempotent add, due selection, filters."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime, timedelta

import pytest

from store import DeliveryNotFoundError, DeliveryStatus, StateStore, utc_now

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
BODY = json.dumps(
    {"event": "instance.ready", "status": "ready", "instanceId": "e000000000000001", "data": {}},
    separators=(",", ":"),
    ensure_ascii=False,
).encode("utf-8")


async def test_delivery_lifecycle(store: StateStore) -> None:
    added = await store.add_delivery(
        "dlv-1", "e000000000000001", "instance.ready", "https://hooks.example/x", BODY, at=T0
    )
    assert (added.status, added.attempts, added.next_attempt_at) == ("pending", 0, T0)
    assert added.payload.encode("utf-8") == BODY  # the exact bytes that were signed
    assert added.created_at == added.updated_at == T0

    failed = await store.mark_delivery_failed(
        "dlv-1", 3, "HTTP 503 Service Unavailable", 503, T0 + timedelta(minutes=5)
    )
    assert (failed.status, failed.attempts, failed.last_status_code) == ("failed", 3, 503)
    assert failed.last_error == "HTTP 503 Service Unavailable"
    assert failed.next_attempt_at == T0 + timedelta(minutes=5)

    delivered = await store.mark_delivery_delivered("dlv-1", attempts=1, status_code=200)
    assert (delivered.status, delivered.attempts, delivered.last_status_code) == (
        DeliveryStatus.DELIVERED,
        4,
        200,
    )
    assert delivered.last_error is None and delivered.next_attempt_at is None
    assert delivered.updated_at > T0 and delivered.updated_at.tzinfo is UTC
    assert await store.get_delivery("dlv-1") == delivered
    assert await store.get_delivery("missing") is None


async def test_adding_the_same_delivery_twice_returns_the_first(store: StateStore) -> None:
    first = await store.add_delivery("dlv-2", "e000000000000001", "instance.ready", "u", BODY)
    again = await store.add_delivery("dlv-2", "e000000000000001", "instance.stopped", "v", b"{}")
    assert again == first
    assert len(await store.list_deliveries()) == 1


async def test_due_selection(store: StateStore) -> None:
    now = T0 + timedelta(hours=1)
    iid = "e000000000000002"
    await store.add_delivery("pending-due", iid, "instance.ready", "u", BODY, at=T0)
    await store.add_delivery(
        "pending-leased",
        iid,
        "instance.ready",
        "u",
        BODY,
        at=T0,
        next_attempt_at=now + timedelta(1),
    )
    await store.add_delivery("failed-due", iid, "instance.failed", "u", BODY, at=T0)
    await store.mark_delivery_failed("failed-due", 3, "timeout", None, now - timedelta(minutes=30))
    await store.add_delivery("failed-later", iid, "instance.failed", "u", BODY, at=T0)
    await store.mark_delivery_failed("failed-later", 3, "timeout", None, now + timedelta(minutes=1))
    await store.add_delivery("given-up", iid, "instance.failed", "u", BODY, at=T0)
    await store.mark_delivery_failed("given-up", 1, "HTTP 404", 404)  # no next attempt
    await store.add_delivery("done", iid, "instance.ready", "u", BODY, at=T0)
    await store.mark_delivery_delivered("done", 1, 204)
    await store.add_delivery("exactly-now", iid, "instance.ready", "u", BODY, at=now)

    due = await store.list_due_deliveries(now)
    assert [d.delivery_id for d in due] == ["pending-due", "failed-due", "exactly-now"]
    assert [d.delivery_id for d in await store.list_due_deliveries(now, limit=1)] == ["pending-due"]
    assert await store.list_due_deliveries(T0 - timedelta(seconds=1)) == []
    with pytest.raises(ValueError, match="naive"):
        await store.list_due_deliveries(datetime(2026, 3, 1, 13, 0))


async def test_list_deliveries_filters_newest_first(store: StateStore) -> None:
    await store.add_delivery("x-1", "e000000000000003", "instance.created", "u", BODY, at=T0)
    await store.add_delivery(
        "x-2", "e000000000000003", "instance.ready", "u", BODY, at=T0 + timedelta(seconds=1)
    )
    await store.add_delivery("y-1", "e000000000000004", "instance.ready", "u", BODY, at=T0)
    await store.mark_delivery_failed("y-1", 5, "connection refused")
    listed = await store.list_deliveries(instance_id="e000000000000003")
    assert [d.delivery_id for d in listed] == ["x-2", "x-1"]
    assert [d.delivery_id for d in await store.list_deliveries(status="failed")] == ["y-1"]
    pending = await store.list_deliveries(status=DeliveryStatus.PENDING)
    assert {d.delivery_id for d in pending} == {"x-1", "x-2"}
    assert len(await store.list_deliveries(limit=2)) == 2


async def test_marking_an_unknown_delivery_fails_loudly(store: StateStore) -> None:
    with pytest.raises(DeliveryNotFoundError):
        await store.mark_delivery_delivered("nope", 1, 200)
    with pytest.raises(DeliveryNotFoundError):
        await store.mark_delivery_failed("nope", 1, "boom")


async def test_long_errors_are_truncated(store: StateStore) -> None:
    await store.add_delivery("z-1", "e000000000000005", "instance.ready", "u", BODY)
    failed = await store.mark_delivery_failed("z-1", 1, "x" * 10_000)
    assert failed.last_error is not None and len(failed.last_error) == 2000


async def test_of_two_leases_on_one_read_due_delivery_one_wins(store: StateStore) -> None:
    await store.add_delivery(
        "lease-1",
        "0123456789abcdef",
        "instance.ready",
        "https://h.example/x",
        b"{}",
        next_attempt_at=utc_now() - timedelta(seconds=1),
    )
    [due] = await store.list_due_deliveries()
    first, second = await asyncio.gather(
        store.lease_delivery(due, timedelta(minutes=2)),
        store.lease_delivery(due, timedelta(minutes=2)),
    )
    assert (first is None) != (second is None)
    assert await store.list_due_deliveries() == []  # leased: not due for anyone else
