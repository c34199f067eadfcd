"""A busy record's owner keeps it alive; one nobody touches has no living owner.

The killed-worker case end to end is `tests/faults/test_killed_sweep.py`; here the parts:
the heartbeat touches only while the record is busy, the journal starts and stops it with
the operation, and a run Prefect still calls Running counts as ended once its record is stale.
"""

from __future__ import annotations

import asyncio
import uuid
from datetime import timedelta

import pytest
from prefect import flow

import flows.common.activity as activity
import flows.common.keep_alive as keep_alive
from flows.common.activity import busy_flow_activity
from flows.common.journal import Journal
from flows.common.keep_alive import KeepAlive
from store import LifecycleStatus, OperationKind, OperationOutcome, StateStore

pytestmark = pytest.mark.integration


def new_id() -> str:
    return uuid.uuid4().hex[:16]


@pytest.fixture
def fast_beats(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(keep_alive, "KEEP_ALIVE_SECONDS", 0.05)


async def test_the_heartbeat_touches_a_busy_record_until_stopped(
    store: StateStore, fast_beats: None
) -> None:
    iid = new_id()
    await store.upsert_instance(instance_id=iid, name=f"ka-{iid}", status="stopping")
    first = await store.get_instance(iid)
    assert first is not None

    beat = KeepAlive(Journal(store, None).touch_busy, iid)
    beat.start()
    await asyncio.sleep(0.4)
    await beat.stop()
    touched = await store.get_instance(iid)
    await asyncio.sleep(0.3)
    after_stop = await store.get_instance(iid)

    assert touched is not None and after_stop is not None
    assert touched.updated_at > first.updated_at
    assert touched.status == LifecycleStatus.STOPPING  # a touch changes nothing else
    assert after_stop.updated_at == touched.updated_at


async def test_the_heartbeat_never_revives_a_settled_record(
    store: StateStore, fast_beats: None
) -> None:
    iid = new_id()
    await store.upsert_instance(instance_id=iid, name=f"ka-{iid}", status="stopped")
    before = await store.get_instance(iid)

    beat = KeepAlive(Journal(store, None).touch_busy, iid)
    beat.start()
    await asyncio.sleep(0.3)
    after = await store.get_instance(iid)
    ended_by_itself = beat._task is not None and beat._task.done()
    await beat.stop()

    assert before is not None and after is not None
    assert after.updated_at == before.updated_at
    assert ended_by_itself


async def test_the_journal_keeps_an_operation_alive_from_started_to_its_end(
    store: StateStore, fast_beats: None
) -> None:
    iid = new_id()
    await store.upsert_instance(instance_id=iid, name=f"ka-{iid}", status="running")
    journal = Journal(store, None)
    op = journal.operation(OperationKind.STOP, iid)

    await op.record(OperationOutcome.STARTED, status=LifecycleStatus.STOPPING)
    beating = set(journal.heartbeats)
    await op.record(OperationOutcome.SUCCEEDED, status=LifecycleStatus.STOPPED)

    assert beating == {iid}
    assert journal.heartbeats == {}


async def test_a_running_flow_whose_record_went_stale_counts_as_ended(
    flow_env: None, store: StateStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    iid = new_id()
    await store.upsert_instance(instance_id=iid, name=f"ka-{iid}", status="stopping")

    @flow(name="keep-alive-owner")
    async def owner() -> list[list[str]]:
        from prefect.runtime import flow_run

        await store.record_operation(
            instance_id=iid,
            kind=OperationKind.STOP,
            outcome=OperationOutcome.STARTED,
            flow_run_id=str(flow_run.id),
        )
        record = await store.get_instance(iid)
        assert record is not None
        fresh = await busy_flow_activity(store, [record])
        monkeypatch.setattr(activity, "BUSY_LEASE", timedelta(seconds=0.2))
        await asyncio.sleep(0.4)  # no heartbeat: the owner looks dead
        stale = await busy_flow_activity(store, [record])
        return [
            sorted(fresh.acting),
            sorted(fresh.ended),
            sorted(stale.acting),
            sorted(stale.ended),
        ]

    assert await owner() == [[iid], [], [], [iid]]
