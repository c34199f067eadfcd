"""Operation history: newest first, flow run ids, filters, multi-step transactions."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pydantic
import pytest

from store import OperationKind, OperationOutcome, StateStore

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


async def test_operations_newest_first_with_flow_run_ids(store: StateStore) -> None:
    await store.upsert_instance(instance_id="a000000000000001", name="box")
    await store.record_operation("a000000000000001", "provision", "started", "run-1", at=T0)
    await store.record_operation(
        "a000000000000001",
        OperationKind.PROVISION,
        OperationOutcome.SUCCEEDED,
        "run-1",
        {"region": "AS-SGP-02", "price_per_hour": "0.35"},
        at=T0 + timedelta(minutes=3),
    )
    await store.record_operation(
        "a000000000000001",
        "auto_stop",
        "succeeded",
        "run-2",
        {"idle_minutes": 25},
        T0 + timedelta(hours=1),
    )
    history = await store.list_operations(instance_id="a000000000000001")
    assert [(o.kind, o.outcome, o.flow_run_id) for o in history] == [
        ("auto_stop", "succeeded", "run-2"),
        ("provision", "succeeded", "run-1"),
        ("provision", "started", "run-1"),
    ]
    assert history[1].detail == {"region": "AS-SGP-02", "price_per_hour": "0.35"}
    assert all(o.name == "box" and o.instance_id == "a000000000000001" for o in history)
    assert history[0].at == T0 + timedelta(hours=1) and history[0].at.tzinfo is UTC
    assert history[0].id > history[1].id > history[2].id


async def test_filters_limit_and_same_timestamp_order(store: StateStore) -> None:
    await store.upsert_instance(instance_id="a000000000000002", name="one")
    await store.upsert_instance(instance_id="a000000000000003", name="two")
    for n in range(5):  # same instant: insertion order breaks the tie, newest first
        await store.record_operation("a000000000000002", "mark_used", "succeeded", f"r{n}", at=T0)
    await store.record_operation("a000000000000003", "stop", "failed", None, {"error": "409"}, T0)
    latest_two = await store.list_operations(instance_id="a000000000000002", limit=2)
    assert [o.flow_run_id for o in latest_two] == ["r4", "r3"]
    stops = await store.list_operations(kind="stop")
    assert [(o.instance_id, o.outcome, o.detail) for o in stops] == [
        ("a000000000000003", "failed", {"error": "409"})
    ]
    assert len(await store.list_operations()) == 6
    assert await store.list_operations(instance_id="a000000000000002", kind="stop") == []


async def test_operations_on_unmanaged_instances_are_kept(store: StateStore) -> None:
    op = await store.record_operation(
        "b000000000000001", "auto_stop", "skipped", "run-9", {"reason": "unmanaged"}, name="legacy"
    )
    assert (op.name, op.instance_id) == ("legacy", "b000000000000001")
    assert op.at.tzinfo is UTC
    assert await store.list_operations(instance_id="b000000000000001") == [op]


async def test_bad_operations_are_refused(store: StateStore) -> None:
    with pytest.raises(ValueError):
        await store.record_operation("c000000000000001", "reboot", "succeeded")
    with pytest.raises(ValueError):
        await store.record_operation("c000000000000001", "stop", "maybe")
    with pytest.raises(pydantic.ValidationError) as caught:
        await store.record_operation("c000000000000001", "stop", "failed", detail={"token": "t0k"})
    assert "t0k" not in str(caught.value)
    with pytest.raises(ValueError, match="naive"):
        await store.record_operation("c000000000000001", "stop", "failed", at=datetime(2026, 1, 1))
    assert await store.list_operations() == []


async def test_several_writes_in_one_transaction_land_together(store: StateStore) -> None:
    await store.upsert_instance(instance_id="d000000000000001", name="tx", status="ready")
    with pytest.raises(RuntimeError):
        async with store.transaction() as tx:
            await tx.instances.set_desired_state("d000000000000001", "stopped")
            await tx.operations.record("d000000000000001", "stop", "started", "run-x")
            raise RuntimeError("crash between two steps")
    unchanged = await store.get_instance("d000000000000001")
    assert unchanged is not None and unchanged.desired_state == "running"
    assert await store.list_operations(instance_id="d000000000000001") == []

    async with store.transaction() as tx:
        await tx.instances.set_desired_state("d000000000000001", "stopped")
        await tx.operations.record("d000000000000001", "stop", "started", "run-y")
    changed = await store.get_instance("d000000000000001")
    assert changed is not None and changed.desired_state == "stopped"
    assert [o.flow_run_id for o in await store.list_operations("d000000000000001")] == ["run-y"]
