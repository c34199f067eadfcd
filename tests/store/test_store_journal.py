"""One step, one transaction: claims compare-and-set, history follows the change (both backends)."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest

from store import (
    InstanceNotFoundError,
    InstanceStep,
    LifecycleStatus,
    OperationEntry,
    RecordChange,
    StateStore,
)

IID = "0123456789abcdef"


def claim_step(expect: set[str], updated_at: datetime | None = None) -> InstanceStep:
    return InstanceStep(
        instance_id=IID,
        change=RecordChange(
            expect_status=frozenset(LifecycleStatus(s) for s in expect),
            expect_updated_at=updated_at,
            status=LifecycleStatus.STOPPING,
            desired_state="stopped",
        ),
        operation=OperationEntry(kind="stop", outcome="started", detail={"by": "worker"}),
        otherwise=OperationEntry(kind="stop", outcome="skipped", detail={"refused": True}),
    )


async def test_of_concurrent_claims_exactly_one_applies(store: StateStore) -> None:
    await store.upsert_instance(instance_id=IID, name="race", status="ready")
    outcomes = await asyncio.gather(*(store.apply_step(claim_step({"ready"})) for _ in range(5)))
    assert sum(o.applied for o in outcomes) == 1
    record = await store.get_instance(IID)
    assert record is not None and record.status == LifecycleStatus.STOPPING
    assert record.desired_state == "stopped"
    history = [str(op.outcome) for op in await store.list_operations(IID)]
    assert history.count("started") == 1 and history.count("skipped") == 4


async def test_a_refused_claim_changes_nothing_of_the_record(store: StateStore) -> None:
    await store.upsert_instance(instance_id=IID, name="busy", status="starting")
    done = await store.apply_step(claim_step({"ready"}))
    assert not done.applied and not done.status_changed
    record = await store.get_instance(IID)
    assert record is not None and record.status == LifecycleStatus.STARTING
    assert record.desired_state == "running"
    assert [str(op.outcome) for op in await store.list_operations(IID)] == ["skipped"]


async def test_a_reclaim_on_a_stale_version_loses(store: StateStore) -> None:
    record = await store.upsert_instance(instance_id=IID, name="stale", status="stopping")
    first = await store.apply_step(claim_step({"stopping"}, record.updated_at))
    second = await store.apply_step(claim_step({"stopping"}, record.updated_at))
    assert first.applied and not second.applied


async def test_count_and_reset_migration_attempts_with_the_history(store: StateStore) -> None:
    await store.upsert_instance(instance_id=IID, name="spot", status="exited")
    done = await store.apply_step(
        InstanceStep(
            instance_id=IID,
            change=RecordChange(
                expect_status=frozenset({LifecycleStatus.EXITED}),
                status=LifecycleStatus.MIGRATING,
                migration_attempts="count",
            ),
            operation=OperationEntry(kind="migration", outcome="started"),
        )
    )
    assert done.applied and done.record is not None
    assert done.record.migration_attempts == 1 and done.record.last_migration_at is not None
    reset = await store.apply_step(
        InstanceStep(instance_id=IID, change=RecordChange(migration_attempts="reset"))
    )
    assert reset.record is not None and reset.record.migration_attempts == 0


async def test_use_only_moves_forward(store: StateStore) -> None:
    await store.upsert_instance(instance_id=IID, name="used", status="ready")
    t1 = datetime(2026, 1, 1, 12, tzinfo=UTC)

    def used(at: datetime) -> InstanceStep:
        return InstanceStep(
            instance_id=IID,
            change=RecordChange(used_at=at),
            operation=OperationEntry(kind="mark_used", outcome="succeeded"),
            otherwise=OperationEntry(kind="mark_used", outcome="skipped"),
        )

    assert (await store.apply_step(used(t1))).applied
    older = await store.apply_step(used(t1 - timedelta(minutes=1)))
    assert not older.applied and older.record is not None and older.record.last_used_at == t1
    assert [str(o.outcome) for o in reversed(await store.list_operations(IID))] == [
        "succeeded",
        "skipped",
    ]


async def test_move_and_fields_land_with_the_entry(store: StateStore) -> None:
    await store.upsert_instance(instance_id=IID, name="moving", status="migrating")
    new_id = "fedcba9876543210"
    done = await store.apply_step(
        InstanceStep(
            instance_id=IID,
            move_to=new_id,
            fields={"region": "OC-AU-01", "status": LifecycleStatus.CREATING},
            operation=OperationEntry(kind="migration", outcome="started"),
        )
    )
    assert done.status_changed and done.record is not None
    assert done.record.instance_id == new_id and done.record.previous_instance_ids == [IID]
    assert done.operation is not None and done.operation.instance_id == new_id
    assert await store.get_instance(IID) is None


async def test_an_unconditional_change_of_an_unknown_instance_fails(store: StateStore) -> None:
    with pytest.raises(InstanceNotFoundError):
        await store.apply_step(
            InstanceStep(instance_id=IID, change=RecordChange(status=LifecycleStatus.READY))
        )
