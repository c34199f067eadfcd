"""Managed instances: upsert, lookups, filters, compare-and-set, use marks, id replacement."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal

import pydantic
import pytest
from sqlalchemy import event

from store import (
    DesiredState,
    InstanceConflictError,
    InstanceNotFoundError,
    LifecycleStatus,
    ManagedInstance,
    StateStore,
)
from store.tables import InstanceRow

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
REQUEST = {
    "product_name": "RTX 4090 24GB",
    "template_id": "1234",
    "gpu_num": 1,
    "rootfs_size": 60,
    "billing_mode": "spot",
    "regions": ["AS-SGP-02", "CN-HK-01"],
}


async def _add(store: StateStore, instance_id: str, name: str, **fields: object) -> ManagedInstance:
    return await store.upsert_instance(instance_id=instance_id, name=name, **fields)


async def test_upsert_inserts_then_gets_by_id_and_by_name(store: StateStore) -> None:
    created = await store.upsert_instance(
        ManagedInstance(
            instance_id="1111000000000001",
            name="trainer-1",
            request=REQUEST,
            cluster_id="as-sgp-2",
            region="AS-SGP-02",
            product_id="prod-4090",
            product_name="RTX 4090 24GB",
            billing_mode="spot",
            price_per_hour=Decimal("0.35"),
            webhook_url="https://hooks.example/novita",
            auto_stop_minutes=0,
        )
    )
    assert created.status is LifecycleStatus.CREATING
    assert created.desired_state is DesiredState.RUNNING
    by_id = await store.get_instance("1111000000000001")
    by_name = await store.get_instance_by_name("trainer-1")
    assert by_id == by_name == created
    assert by_id is not None
    assert by_id.request == REQUEST
    assert by_id.price_per_hour == Decimal("0.35")
    assert by_id.auto_stop_minutes == 0
    assert by_id.migration_attempts == 0 and by_id.previous_instance_ids == []
    assert await store.get_instance("missing") is None
    assert await store.get_instance_by_name("missing") is None


async def test_upsert_updates_only_the_fields_given(store: StateStore) -> None:
    await _add(store, "1111000000000002", "a", request=REQUEST, region="AS-SGP-02")
    await store.mark_used("1111000000000002", T0)
    updated = await store.upsert_instance(
        instance_id="1111000000000002", status="running", region="CN-HK-01"
    )
    assert (updated.status, updated.region) == (LifecycleStatus.RUNNING, "CN-HK-01")
    assert updated.request == REQUEST
    assert updated.last_used_at == T0  # an upsert never rewinds what it was not given
    # A model passed in writes only its explicitly set fields, not its defaults.
    again = await store.upsert_instance(
        ManagedInstance(instance_id="1111000000000002", name="a", price_per_hour=1.25)
    )
    assert again.status is LifecycleStatus.RUNNING
    assert again.price_per_hour == Decimal("1.25")
    assert again.created_at == updated.created_at
    assert again.updated_at >= updated.updated_at


async def test_name_is_unique_among_live_instances_only(store: StateStore) -> None:
    await _add(store, "1111000000000003", "web")
    with pytest.raises(InstanceConflictError, match="web"):
        await _add(store, "1111000000000004", "web")
    assert await store.get_instance("1111000000000004") is None
    await store.set_status("1111000000000003", LifecycleStatus.DELETED)
    assert await store.get_instance_by_name("web") is None
    reborn = await _add(store, "1111000000000004", "web")
    assert (await store.get_instance_by_name("web")) == reborn
    deleted = await store.get_instance_by_name("web", include_deleted=True)
    assert deleted is not None and deleted.instance_id == "1111000000000004"  # live one first
    await store.set_status("1111000000000004", "deleted")
    latest_deleted = await store.get_instance_by_name("web", include_deleted=True)
    assert latest_deleted is not None and latest_deleted.instance_id == "1111000000000004"


async def test_invalid_values_are_refused_before_writing(store: StateStore) -> None:
    with pytest.raises(pydantic.ValidationError):
        await _add(store, "1111000000000005", "x", status="sleeping")
    with pytest.raises(pydantic.ValidationError):
        await _add(store, "1111000000000005", "x", auto_stop_minutes=-1)
    with pytest.raises(pydantic.ValidationError):
        await _add(store, "1111000000000005", "x", created_at=datetime(2026, 1, 1))  # naive
    with pytest.raises(TypeError):
        await _add(store, "1111000000000005", "x", colour="blue")
    assert await store.get_instance("1111000000000005") is None


@pytest.mark.parametrize(
    "request_with_secret",
    [
        {"product_name": "RTX 4090 24GB", "api_key": "sk-live"},
        {"template": {"imageAuth": "user:pass"}},
        {"registry": [{"username": "u", "password": "p"}]},
        {"webhook_secret": "whsec"},
    ],
)
async def test_secrets_are_never_stored(
    store: StateStore, request_with_secret: dict[str, object]
) -> None:
    with pytest.raises(pydantic.ValidationError) as caught:
        await _add(store, "1111000000000006", "s", request=request_with_secret)
    assert "never keeps secrets" in str(caught.value)
    for leaked in ("sk-live", "user:pass", "whsec"):
        assert leaked not in str(caught.value)
    assert await store.get_instance("1111000000000006") is None


async def test_list_filters(store: StateStore) -> None:
    await _add(store, "2222000000000001", "b-ready", status="ready")
    await _add(store, "2222000000000002", "a-running", status="running")
    await _add(store, "2222000000000003", "c-stopped", status="stopped", desired_state="stopped")
    await _add(store, "2222000000000004", "d-gone", status="deleted", desired_state="deleted")
    await _add(store, "2222000000000005", "e-deleting", status="stopping", desired_state="deleted")

    names = [i.name for i in await store.list_instances()]
    assert names == ["a-running", "b-ready", "c-stopped", "e-deleting"]  # ordered by name
    all_names = {i.name for i in await store.list_instances(include_deleted=True)}
    assert "d-gone" in all_names and len(all_names) == 5
    running = await store.list_instances(desired_state=DesiredState.RUNNING)
    assert [i.name for i in running] == ["a-running", "b-ready"]
    ready_or_running = await store.list_instances(statuses={"ready", LifecycleStatus.RUNNING})
    assert [i.name for i in ready_or_running] == ["a-running", "b-ready"]
    both = await store.list_instances(desired_state="deleted", statuses=["stopping"])
    assert [i.name for i in both] == ["e-deleting"]
    assert [i.name for i in await store.list_instances(statuses=["deleted"])] == ["d-gone"]
    assert await store.list_instances(statuses=[]) == []


async def test_set_status_reason_and_timestamps(store: StateStore) -> None:
    await _add(store, "3333000000000001", "t")
    ready = await store.set_status("3333000000000001", "ready", ready_at=T0)
    assert (ready.status, ready.status_reason, ready.ready_at) == ("ready", None, T0)
    failed = await store.set_status("3333000000000001", "failed", "health check timed out")
    assert failed.status_reason == "health check timed out"
    assert failed.ready_at == T0
    stopped = await store.set_status("3333000000000001", "stopped", stopped_at=T0, ready_at=None)
    assert (stopped.status_reason, stopped.stopped_at, stopped.ready_at) == (None, T0, None)
    with pytest.raises(TypeError, match="unknown timestamp"):
        await store.set_status("3333000000000001", "ready", readied_at=T0)
    with pytest.raises(ValueError, match="naive"):
        await store.set_status("3333000000000001", "ready", ready_at=datetime(2026, 1, 1))
    with pytest.raises(InstanceNotFoundError):
        await store.set_status("missing", "ready")


async def test_desired_state(store: StateStore) -> None:
    await _add(store, "3333000000000002", "d")
    changed = await store.set_desired_state("3333000000000002", DesiredState.STOPPED)
    assert changed.desired_state is DesiredState.STOPPED
    with pytest.raises(ValueError):
        await store.set_desired_state("3333000000000002", "paused")
    with pytest.raises(InstanceNotFoundError):
        await store.set_desired_state("missing", "stopped")


async def test_transition_status_is_compare_and_set(store: StateStore) -> None:
    await _add(store, "4444000000000001", "cas", status="stopped")
    assert await store.transition_status("4444000000000001", {"stopped", "exited"}, "starting")
    assert not await store.transition_status("4444000000000001", {"stopped", "exited"}, "starting")
    assert not await store.transition_status("missing", {"stopped"}, "starting")
    assert not await store.transition_status("4444000000000001", set(), "starting")
    current = await store.get_instance("4444000000000001")
    assert current is not None and current.status is LifecycleStatus.STARTING


async def test_second_of_two_concurrent_starts_is_refused(
    store: StateStore, store_url: str
) -> None:
    await _add(store, "4444000000000002", "race", status="stopped")
    # Two separate engines: two connections, two sessions, truly concurrent.
    async with StateStore(store_url) as other:
        results = await asyncio.gather(
            store.transition_status("4444000000000002", {"stopped"}, "starting", "start A"),
            other.transition_status("4444000000000002", {"stopped"}, "starting", "start B"),
        )
    assert sorted(results) == [False, True]
    winner = await store.get_instance("4444000000000002")
    assert winner is not None and winner.status_reason == ("start A" if results[0] else "start B")

    await store.set_status("4444000000000002", "stopped")
    many = await asyncio.gather(
        *(store.transition_status("4444000000000002", {"stopped"}, "starting") for _ in range(8))
    )
    assert many.count(True) == 1


async def test_a_transition_waits_for_an_open_one_then_is_refused(store: StateStore) -> None:
    await _add(store, "4444000000000003", "held", status="exited")
    async with store.transaction() as tx:
        assert await tx.instances.transition_status("4444000000000003", {"exited"}, "starting")
        second = asyncio.create_task(
            store.transition_status("4444000000000003", {"exited"}, "starting")
        )
        await asyncio.sleep(0.3)
        assert not second.done()  # blocked behind the first transaction's write
    assert await asyncio.wait_for(second, timeout=10) is False


async def test_mark_used_keeps_the_latest(store: StateStore) -> None:
    await _add(store, "5555000000000001", "u")
    assert (await store.mark_used("5555000000000001", T0)).last_used_at == T0
    later = T0 + timedelta(minutes=5)
    assert (await store.mark_used("5555000000000001", later)).last_used_at == later
    assert (await store.mark_used("5555000000000001", T0)).last_used_at == later
    await asyncio.gather(
        *(store.mark_used("5555000000000001", T0 + timedelta(minutes=m)) for m in (7, 30, 9))
    )
    stored = await store.get_instance("5555000000000001")
    assert stored is not None and stored.last_used_at == T0 + timedelta(minutes=30)
    with pytest.raises(InstanceNotFoundError):
        await store.mark_used("missing", T0)


async def test_migration_attempts(store: StateStore) -> None:
    await _add(store, "6666000000000001", "m")
    await store.record_migration_attempt("6666000000000001", T0)
    second = await store.record_migration_attempt("6666000000000001", T0 + timedelta(minutes=31))
    assert second.migration_attempts == 2
    assert second.last_migration_at == T0 + timedelta(minutes=31)
    reset = await store.reset_migration_attempts("6666000000000001")
    assert reset.migration_attempts == 0
    assert reset.last_migration_at == T0 + timedelta(minutes=31)
    with pytest.raises(InstanceNotFoundError):
        await store.record_migration_attempt("missing", T0)


async def test_replace_instance_id_keeps_name_webhook_and_history(store: StateStore) -> None:
    await _add(
        store,
        "7777000000000001",
        "spot-box",
        request=REQUEST,
        region="AS-SGP-02",
        webhook_url="https://hooks.example/a",
        auto_stop_minutes=45,
        status="exited",
    )
    await store.record_operation("7777000000000001", "provision", "succeeded", "flow-1")
    await store.record_migration_attempt("7777000000000001", T0)
    moved = await store.replace_instance_id(
        "7777000000000001", "7777000000000002", region="CN-HK-01", status="creating"
    )
    assert moved.instance_id == "7777000000000002"
    assert (moved.name, moved.webhook_url, moved.auto_stop_minutes) == (
        "spot-box",
        "https://hooks.example/a",
        45,
    )
    assert (moved.region, moved.status, moved.request) == ("CN-HK-01", "creating", REQUEST)
    assert moved.previous_instance_ids == ["7777000000000001"]
    assert moved.migration_attempts == 1
    assert await store.get_instance("7777000000000001") is None
    assert await store.get_instance_by_name("spot-box") == moved

    await store.record_operation("7777000000000002", "migration", "succeeded", "flow-2")
    history = await store.list_operations(instance_id="7777000000000002")
    assert [(o.instance_id, o.flow_run_id) for o in history] == [
        ("7777000000000002", "flow-2"),
        ("7777000000000001", "flow-1"),
    ]
    assert await store.list_operations(instance_id="7777000000000001") == history

    twice = await store.replace_instance_id("7777000000000002", "7777000000000003")
    assert twice.previous_instance_ids == ["7777000000000001", "7777000000000002"]
    assert len(await store.list_operations(instance_id="7777000000000003")) == 2


async def test_replace_instance_id_refusals(store: StateStore) -> None:
    await _add(store, "8888000000000001", "one")
    await _add(store, "8888000000000002", "two")
    with pytest.raises(InstanceNotFoundError):
        await store.replace_instance_id("missing", "8888000000000009")
    with pytest.raises(InstanceConflictError):
        await store.replace_instance_id("8888000000000001", "8888000000000002")
    unchanged = await store.get_instance("8888000000000001")
    assert unchanged is not None and unchanged.previous_instance_ids == []


async def test_timestamps_come_back_timezone_aware_utc(store: StateStore) -> None:
    plus_two = timezone(timedelta(hours=2))
    local = datetime(2026, 3, 1, 14, 0, 0, 123456, tzinfo=plus_two)
    created = await _add(store, "9999000000000001", "tz", created_at=local)
    await store.set_status("9999000000000001", "ready", ready_at=local)
    await store.mark_used("9999000000000001", local + timedelta(seconds=1))
    stored = await store.get_instance("9999000000000001")
    assert stored is not None
    for value in (stored.created_at, stored.ready_at, stored.last_used_at, stored.updated_at):
        assert value is not None and value.tzinfo is UTC
    assert stored.created_at == created.created_at == T0 + timedelta(microseconds=123456)
    assert stored.created_at.hour == 12  # converted, not relabelled
    listed = await store.list_instances()
    assert listed[0].ready_at is not None and listed[0].ready_at.utcoffset() == timedelta(0)


async def test_list_is_one_fast_query_over_ten_thousand_rows(store: StateStore) -> None:
    statuses = ["ready", "running", "stopped", "exited", "deleted"]
    now = datetime.now(UTC)
    rows = [
        {
            "instance_id": f"{n:016x}",
            "name": f"fleet-{n:05d}",
            "request": {"gpu_num": 1},
            "desired_state": "stopped" if n % 5 == 2 else "running",
            "status": statuses[n % 5],
            "created_at": now,
            "updated_at": now,
            "previous_instance_ids": [],
        }
        for n in range(10_000)
    ]
    async with store.transaction() as tx:
        await tx.session.execute(InstanceRow.__table__.insert(), rows)

    selects: list[str] = []

    def count_selects(_conn: object, _cursor: object, statement: str, *_args: object) -> None:
        if statement.lstrip().upper().startswith("SELECT"):
            selects.append(statement)

    event.listen(store.engine.sync_engine, "before_cursor_execute", count_selects)
    try:
        started = time.perf_counter()
        everything = await store.list_instances()
        ready = await store.list_instances(desired_state="running", statuses={"ready"})
        elapsed = time.perf_counter() - started
    finally:
        event.remove(store.engine.sync_engine, "before_cursor_execute", count_selects)
    assert len(selects) == 2  # one query per listing
    assert len(everything) == 8_000 and len(ready) == 2_000
    assert all(i.status is not LifecycleStatus.DELETED for i in everything)
    assert elapsed < 5, f"listing 10,000 rows took {elapsed:.2f}s"

    if store.engine.dialect.name == "sqlite":
        async with store.engine.connect() as connection:
            plan = await connection.exec_driver_sql(
                "EXPLAIN QUERY PLAN SELECT * FROM managed_instances WHERE status IN ('ready')"
            )
            assert "ix_managed_instances_status" in " ".join(str(r) for r in plan)
