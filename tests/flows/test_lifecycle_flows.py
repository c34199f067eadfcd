"""start/stop/delete/mark-used flows against the simulator, a Prefect test server, a receiver."""

from __future__ import annotations

import asyncio
import json
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from prefect.exceptions import ParameterTypeError

from clients.novita import CreateInstanceRequest, InstanceStatus, NovitaClient, NovitaNotFoundError
from clients.webhook_signature import verify_webhook_signature
from flows.instances.errors import OperationRefusedError, StartFailedError
from flows.instances.lookup import InstanceLookupError, InstanceSelectorError
from flows.lifecycle import (
    delete_instance_flow,
    mark_instance_used_flow,
    start_instance_flow,
    stop_instance_flow,
)
from flows.provision import ProvisionResult, provision_instance
from simulator.server import SimulatorServer
from store import DesiredState, LifecycleStatus, OperationKind, StateStore
from tests.flows.conftest import WEBHOOK_SECRET
from tests.webhooks.receiver import Receiver

START = "/gpu/instance/start"
STOP = "/gpu/instance/stop"
DELETE = "/gpu/instance/delete"


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


async def provision(name: str, receiver: Receiver | None = None, **extra: Any) -> ProvisionResult:
    result = await provision_instance(
        name=name,
        product_name="RTX 4090 24GB",
        template_id="1001",
        webhook_url=receiver.url if receiver else None,
        **extra,
    )
    assert result.instance_id
    return result


def bodies(receiver: Receiver, since: int = 0) -> list[dict[str, Any]]:
    """Bodies received from `since` on, after checking each one's signature."""
    found = []
    for request in receiver.requests[since:]:
        signature = request.headers["X-Webhook-Signature"]
        assert verify_webhook_signature(WEBHOOK_SECRET, request.body, signature)
        found.append(json.loads(request.body))
    return found


async def history(store: StateStore, instance_id: str, kind: OperationKind) -> list[str]:
    """Outcomes of one kind of operation, oldest first."""
    operations = await store.list_operations(instance_id, kind=kind)
    return [str(op.outcome) for op in reversed(operations)]


async def wait_for_novita(sim: SimulatorServer, iid: str, wanted: InstanceStatus) -> bool:
    """Poll the simulator (outside any flow) until the instance has the wanted status."""
    async with NovitaClient(api_key=sim.api_key, base_url=sim.base_url) as client:
        for _ in range(100):
            if (await client.get_instance(iid)).status == wanted:
                return True
            await asyncio.sleep(0.05)
    return False


async def test_stop_then_start_by_name_with_signed_webhooks(
    sim: SimulatorServer, receiver: Receiver, store: StateStore
) -> None:
    name = unique("cycle")
    iid = (await provision(name, receiver)).instance_id or ""

    mark = len(receiver.requests)
    stopped = await stop_instance_flow(name=name)
    assert stopped.instance_id == iid and stopped.status == "stopped"
    assert not stopped.already_stopped and stopped.stopped_at is not None
    assert [r["body"] for r in sim.requests(path=STOP)] == [{"instanceId": iid}]
    record = await store.get_instance(iid)
    assert record is not None and record.status == LifecycleStatus.STOPPED
    assert record.desired_state == DesiredState.STOPPED and record.stopped_at is not None
    async with NovitaClient(api_key=sim.api_key, base_url=sim.base_url) as client:
        assert (await client.get_instance(iid)).status == InstanceStatus.EXITED
    stop_events = bodies(receiver, mark)
    assert [b["event"] for b in stop_events] == ["instance.stopped"]
    assert stop_events[0]["status"] == "stopped" and stop_events[0]["data"]["name"] == name

    mark = len(receiver.requests)
    started = await start_instance_flow(name=name)
    assert started.status == "ready" and started.previous_status == "stopped"
    assert started.health_check is not None and started.health_check.healthy
    assert "ssh" in started.connection_details
    assert len(sim.requests(path=START)) == 1
    events = bodies(receiver, mark)
    assert [(b["event"], b["data"]["startupOperation"]["phase"]) for b in events] == [
        ("instance.startup_initiated", "initiated"),
        ("instance.startup_progress", "running"),
        ("instance.startup_progress", "health_checking"),
        ("instance.startup_completed", "ready"),
    ]
    assert all(b["instanceId"] == iid for b in events)
    completed = events[-1]
    assert completed["status"] == "ready" and completed["data"]["healthCheck"]["healthy"]
    record = await store.get_instance(iid)
    assert record is not None and record.status == LifecycleStatus.READY
    assert record.desired_state == DesiredState.RUNNING
    assert await history(store, iid, OperationKind.STOP) == ["started", "succeeded"]
    assert await history(store, iid, OperationKind.START) == ["started", "succeeded"]
    start_ops = await store.list_operations(iid, kind=OperationKind.START)
    assert all(op.flow_run_id for op in start_ops)


async def test_stop_of_a_stopped_instance_is_a_no_op_that_says_so(
    sim: SimulatorServer, receiver: Receiver, store: StateStore
) -> None:
    iid = (await provision(unique("noop"), receiver)).instance_id or ""
    await stop_instance_flow(instance_id=iid)
    mark = len(receiver.requests)

    again = await stop_instance_flow(instance_id=iid)
    assert again.already_stopped and "already stopped" in again.message
    assert len(sim.requests(path=STOP)) == 1  # the second run made no stop call
    assert bodies(receiver, mark) == []
    assert await history(store, iid, OperationKind.STOP) == ["started", "succeeded", "skipped"]


async def test_stop_after_a_spot_reclaim_records_it_without_a_stop_call(
    sim: SimulatorServer, receiver: Receiver, store: StateStore
) -> None:
    iid = (await provision(unique("reclaimed"), receiver)).instance_id or ""
    sim.reclaim_spot(iid, immediate=True)
    # Novita reports exited; our record still says ready
    assert await wait_for_novita(sim, iid, InstanceStatus.EXITED)
    mark = len(receiver.requests)

    result = await stop_instance_flow(instance_id=iid)
    assert result.already_stopped and "without a stop call" in result.message
    assert sim.requests(path=STOP) == []
    record = await store.get_instance(iid)
    assert record is not None and record.status == LifecycleStatus.STOPPED
    assert record.desired_state == DesiredState.STOPPED  # the migration sweep leaves it be
    events = bodies(receiver, mark)
    assert [b["event"] for b in events] == ["instance.stopped"]
    assert events[0]["data"]["alreadyExitedAtNovita"] is True


async def test_start_while_running_is_refused_without_calling_novita(
    sim: SimulatorServer, receiver: Receiver, store: StateStore
) -> None:
    iid = (await provision(unique("running"), receiver)).instance_id or ""
    mark = len(receiver.requests)
    with pytest.raises(OperationRefusedError, match="already running"):
        await start_instance_flow(instance_id=iid)
    assert sim.requests(path=START) == []
    assert bodies(receiver, mark) == []
    record = await store.get_instance(iid)
    assert record is not None and record.status == LifecycleStatus.READY
    assert await history(store, iid, OperationKind.START) == ["skipped"]


async def test_start_while_a_start_is_in_progress_is_refused(
    sim: SimulatorServer, store: StateStore
) -> None:
    iid = (await provision(unique("claimed"))).instance_id or ""
    await stop_instance_flow(instance_id=iid)
    await store.set_status(iid, LifecycleStatus.STARTING)  # another run holds the claim
    with pytest.raises(OperationRefusedError, match="start is already in progress"):
        await start_instance_flow(instance_id=iid)
    assert sim.requests(path=START) == []


async def test_two_concurrent_starts_reach_novita_once(
    sim: SimulatorServer, receiver: Receiver, store: StateStore
) -> None:
    name = unique("race")
    iid = (await provision(name, receiver)).instance_id or ""
    await stop_instance_flow(instance_id=iid)
    mark = len(receiver.requests)

    # A slow start call keeps the winner's claim held while the other run arrives (at speed
    # 20 a whole start can finish before a second flow run has even been created).
    sim.set_latency(2500, path=START)
    outcomes = await asyncio.gather(
        start_instance_flow(instance_id=iid),
        start_instance_flow(name=name),
        return_exceptions=True,
    )
    refused = [o for o in outcomes if isinstance(o, OperationRefusedError)]
    ready = [o for o in outcomes if not isinstance(o, BaseException)]
    assert len(refused) == 1 and len(ready) == 1, outcomes
    assert ready[0].status == "ready"
    assert "start is already in progress" in str(refused[0])
    assert len(sim.requests(path=START)) == 1
    events = [b["event"] for b in bodies(receiver, mark)]
    assert events.count("instance.startup_initiated") == 1
    assert events[-1] == "instance.startup_completed"


async def test_start_without_capacity_reports_and_never_deletes(
    sim: SimulatorServer, receiver: Receiver, store: StateStore
) -> None:
    provisioned = await provision(unique("nocap"), receiver)
    iid = provisioned.instance_id or ""
    await stop_instance_flow(instance_id=iid)
    sim.set_capacity(provisioned.cluster_id or "")
    mark = len(receiver.requests)

    with pytest.raises(StartFailedError) as caught:
        await start_instance_flow(instance_id=iid)
    assert caught.value.code == "INSUFFICIENT_RESOURCE"
    assert "never deleted" in str(caught.value)
    assert [r["status"] for r in sim.requests(path=START)] == [400]
    assert sim.requests(path=DELETE) == []
    events = bodies(receiver, mark)
    assert [b["event"] for b in events] == ["instance.startup_failed"]
    failed = events[0]["data"]
    assert failed["error"]["code"] == "INSUFFICIENT_RESOURCE"
    assert failed["startupOperation"]["phase"] == "start_request"
    record = await store.get_instance(iid)
    assert record is not None and record.status == LifecycleStatus.STOPPED  # as it was
    assert "capacity" in (record.status_reason or "")
    assert record.desired_state == DesiredState.STOPPED  # the start never happened
    async with NovitaClient(api_key=sim.api_key, base_url=sim.base_url) as client:
        assert (await client.get_instance(iid)).status == InstanceStatus.EXITED
    assert await history(store, iid, OperationKind.START) == ["started", "failed"]


async def test_start_that_never_gets_healthy_fails_at_health_checking(
    sim: SimulatorServer, receiver: Receiver, store: StateStore
) -> None:
    iid = (await provision(unique("sick"), receiver)).instance_id or ""
    await stop_instance_flow(instance_id=iid)
    sim.set_app_health(iid, "502")
    mark = len(receiver.requests)

    with pytest.raises(StartFailedError) as caught:
        await start_instance_flow(instance_id=iid, deadline_minutes=0.05)
    assert caught.value.phase == "health_checking"
    events = bodies(receiver, mark)
    assert [b["event"] for b in events] == [
        "instance.startup_initiated",
        "instance.startup_progress",
        "instance.startup_progress",
        "instance.startup_failed",
    ]
    failed = events[-1]
    assert failed["status"] == "failed"
    assert failed["data"]["startupOperation"]["phase"] == "health_checking"
    assert failed["data"]["error"]["code"] == "NOT_READY_HEALTH_CHECKING"
    assert failed["data"]["healthCheck"]["healthy"] is False
    record = await store.get_instance(iid)
    assert record is not None and record.status == LifecycleStatus.FAILED
    assert sim.requests(path=DELETE) == []


async def test_delete_by_name_removes_the_instance_and_records_it(
    sim: SimulatorServer, receiver: Receiver, store: StateStore
) -> None:
    name = unique("doomed")
    iid = (await provision(name, receiver)).instance_id or ""
    mark = len(receiver.requests)

    deleted = await delete_instance_flow(name=name)
    assert deleted.instance_id == iid and deleted.status == "deleted"
    assert not deleted.already_gone
    assert [r["body"] for r in sim.requests(path=DELETE)] == [{"instanceId": iid}]
    async with NovitaClient(api_key=sim.api_key, base_url=sim.base_url) as client:
        # removed, or already past the simulator's grace period (404) on a loaded machine
        try:
            assert (await client.get_instance(iid)).status == InstanceStatus.REMOVED
        except NovitaNotFoundError:
            pass
    record = await store.get_instance(iid)
    assert record is not None and record.status == LifecycleStatus.DELETED
    assert record.desired_state == DesiredState.DELETED
    events = bodies(receiver, mark)
    assert [b["event"] for b in events] == ["instance.deleted"]
    assert events[0]["status"] == "deleted" and events[0]["data"]["name"] == name
    assert await history(store, iid, OperationKind.DELETE) == ["started", "succeeded"]

    again = await delete_instance_flow(name=name)  # deleting what is gone is success
    assert again.already_gone and again.instance_id == iid
    assert len(sim.requests(path=DELETE)) == 1
    with pytest.raises(OperationRefusedError, match="deleted"):
        await start_instance_flow(instance_id=iid)
    assert sim.requests(path=START) == []


async def test_mark_used_by_id_and_name_moves_last_use_forward_only(
    sim: SimulatorServer, store: StateStore
) -> None:
    name = unique("busy")
    iid = (await provision(name, wait_until_ready=False)).instance_id or ""
    calls_before = len(sim.requests())
    t1 = datetime.now(UTC) - timedelta(minutes=1)

    first = await mark_instance_used_flow(name=name, at=t1)
    assert first.moved_forward and first.last_used_at == t1
    older = await mark_instance_used_flow(instance_id=iid, at=t1 - timedelta(minutes=10))
    assert not older.moved_forward and older.last_used_at == t1
    naive = (t1 + timedelta(seconds=30)).replace(tzinfo=None)  # taken as UTC
    later = await mark_instance_used_flow(instance_id=iid, at=naive)
    assert later.moved_forward and later.last_used_at == naive.replace(tzinfo=UTC)
    now = await mark_instance_used_flow(name=name)
    assert now.moved_forward and now.last_used_at is not None and now.last_used_at > t1

    record = await store.get_instance(iid)
    assert record is not None and record.last_used_at == now.last_used_at
    assert await history(store, iid, OperationKind.MARK_USED) == [
        "succeeded",
        "skipped",
        "succeeded",
        "succeeded",
    ]
    with pytest.raises(ValueError, match="in the future"):
        await mark_instance_used_flow(name=name, at=datetime.now(UTC) + timedelta(hours=1))
    assert len(sim.requests()) == calls_before  # mark-used never calls Novita


async def test_selector_and_unknown_instances_fail_clearly_before_novita(
    sim: SimulatorServer,
) -> None:
    with pytest.raises(InstanceSelectorError, match=r"instance_id or name \(got neither\)"):
        await start_instance_flow()
    with pytest.raises(InstanceSelectorError, match="got both"):
        await stop_instance_flow(instance_id="0123456789abcdef", name="x")
    with pytest.raises(ParameterTypeError, match="instance_id"):  # typed parameters
        await delete_instance_flow(instance_id="not an id!")
    assert sim.requests() == []
    with pytest.raises(InstanceLookupError, match="name 'no-such-machine'"):
        await delete_instance_flow(name="no-such-machine")
    with pytest.raises(InstanceLookupError, match="instance_id 'feedfacefeedface'"):
        await stop_instance_flow(instance_id="feedfacefeedface")
    with pytest.raises(InstanceLookupError, match="No managed instance with name 'nobody'"):
        await mark_instance_used_flow(name="nobody")
    assert sim.requests(path=STOP) == [] and sim.requests(path=DELETE) == []


async def test_unmanaged_instance_is_stopped_and_deleted_but_not_marked_used(
    sim: SimulatorServer, store: StateStore
) -> None:
    name = unique("outsider")
    async with NovitaClient(api_key=sim.api_key, base_url=sim.base_url) as client:
        iid = await client.create_instance(
            CreateInstanceRequest(
                name=name,
                product_id="rtx4090-24g.us-ca-6",
                rootfs_size=20,
                image_url="python:3.11-slim",
                cluster_id="us-ca-6",
            )
        )
    assert await wait_for_novita(sim, iid, InstanceStatus.RUNNING)

    stopped = await stop_instance_flow(instance_id=iid)
    assert not stopped.managed and not stopped.already_stopped
    assert len(sim.requests(path=STOP)) == 1
    with pytest.raises(InstanceLookupError, match="No managed instance"):
        await mark_instance_used_flow(instance_id=iid)
    deleted = await delete_instance_flow(name=name)
    assert not deleted.managed and deleted.instance_id == iid
    assert len(sim.requests(path=DELETE)) == 1
    assert await store.get_instance(iid) is None  # still not managed
    operations = await store.list_operations(iid)
    assert {(op.kind, op.name) for op in operations} == {
        (OperationKind.STOP, name),
        (OperationKind.DELETE, name),
    }
