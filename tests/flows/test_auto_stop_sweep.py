"""auto-stop-sweep: rules in memory, then the flow against the simulator, a Prefect test server,
a real webhook receiver and a real notification block (Prefect's custom webhook)."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from prefect.exceptions import ParameterTypeError

from clients.novita import CreateInstanceRequest, Instance, InstanceStatus, NovitaClient
from clients.webhook_signature import verify_webhook_signature
from flows.auto_stop_sweep import REPORT_KEY, auto_stop_sweep
from flows.lifecycle import mark_instance_used_flow
from flows.provision import ProvisionResult, provision_instance
from flows.sweeps.auto_stop.rules import IdleInstance, plan_auto_stop
from simulator.server import SimulatorServer
from store import DesiredState, LifecycleStatus, ManagedInstance, OperationKind, StateStore
from tests.flows.conftest import WEBHOOK_SECRET
from tests.webhooks.receiver import Receiver, start_receiver

STOP = "/gpu/instance/stop"
NOW = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def minutes_ago(minutes: float) -> datetime:
    return datetime.now(UTC) - timedelta(minutes=minutes)


async def provision(name: str, receiver: Receiver | None = None, **extra: Any) -> str:
    result: ProvisionResult = await provision_instance(
        name=name,
        product_name="RTX 4090 24GB",
        template_id="1001",
        webhook_url=receiver.url if receiver else None,
        **extra,
    )
    assert result.instance_id
    return result.instance_id


async def backdate(store: StateStore, iid: str, minutes: float) -> None:
    """Pretend the instance became ready (and was last used) `minutes` ago."""
    await store.upsert_instance(instance_id=iid, ready_at=minutes_ago(minutes))


def stop_calls(sim: SimulatorServer) -> list[str]:
    return [r["body"]["instanceId"] for r in sim.requests(path=STOP)]


def reasons(report: Any) -> dict[str, str]:
    return {s.instance_id: s.reason for s in report.skipped}


# -- rules, in memory (no server) ---------------------------------------------------------


def record(iid: str, **fields: Any) -> ManagedInstance:
    base: dict[str, Any] = {"status": "ready", "ready_at": NOW - timedelta(minutes=30)}
    return ManagedInstance(instance_id=iid, name=f"n-{iid[:4]}", **(base | fields))


def running(iid: str, **fields: Any) -> Instance:
    return Instance.model_validate({"id": iid, "status": "running", **fields})


def test_rules_decide_every_instance_in_one_pass() -> None:
    ids = [f"{i:016x}" for i in range(9)]
    records = [
        record(ids[0]),  # idle 30 min: stop
        record(ids[1], last_used_at=NOW - timedelta(minutes=5)),  # used recently
        record(ids[2], auto_stop_minutes=0),  # never
        record(ids[3], auto_stop_minutes=60),  # own, longer threshold
        record(ids[4], status="starting"),  # a start owns it
        record(ids[5], status="health_checking"),  # provisioning not finished
        record(ids[6], desired_state="stopped"),  # the owner wants it stopped
        record(ids[7]),  # Novita does not list it
        # an old mark-used does not beat a newer ready time (stopped and started since)
        record(ids[8], ready_at=NOW - timedelta(minutes=2), last_used_at=NOW - timedelta(days=1)),
    ]
    live = [running(i) for i in ids if i != ids[7]]
    live.append(running("f" * 16, lastStartedAt=str(int((NOW - timedelta(hours=1)).timestamp()))))
    plan = plan_auto_stop(records, live, NOW, 20, include_unmanaged=False)
    assert [i.instance_id for i in plan.idle] == [ids[0]]
    assert plan.idle[0].idle_minutes == 30.0 and plan.idle[0].threshold_minutes == 20
    why = {s.instance_id: s.reason for s in plan.skipped}
    assert why[ids[1]] == "used 5 min ago; threshold 20 min"
    assert "auto_stop_minutes=0" in why[ids[2]]
    assert why[ids[3]] == "used 30 min ago; threshold 60 min"
    assert "starting" in why[ids[4]] and "health_checking" in why[ids[5]]
    assert "desired state is stopped" in why[ids[6]]
    assert why[ids[7]] == "Novita does not list it"
    assert why[ids[8]] == "used 2 min ago; threshold 20 min"
    assert "include_unmanaged is off" in why["f" * 16]
    assert plan.checked == len(records) + 1

    with_unmanaged = plan_auto_stop(records, live, NOW, 20, include_unmanaged=True)
    unmanaged = [i for i in with_unmanaged.idle if not i.managed]
    assert [(i.instance_id, i.idle_minutes) for i in unmanaged] == [("f" * 16, 60.0)]
    # the sweep-wide threshold moves the default, not an instance's own setting
    lower = plan_auto_stop(records, live, NOW, 1, include_unmanaged=False)
    assert {i.instance_id for i in lower.idle} == {ids[0], ids[1], ids[8]}


# -- the flow -----------------------------------------------------------------------------


@pytest.fixture
def humans() -> Iterator[Receiver]:
    """Where the team's notification block posts (a Prefect custom webhook)."""
    rec, server = start_receiver()
    yield rec
    server.shutdown()
    server.server_close()


@pytest.fixture
def notify_policies(flow_env: None, humans: Receiver) -> str:
    """A named policies block whose notification block posts to `humans` ("default" untouched)."""
    from prefect.blocks.notifications import CustomWebhookNotificationBlock

    from blocks import NovitaPolicies

    suffix = uuid.uuid4().hex[:8]
    CustomWebhookNotificationBlock(
        name="novita-team",
        url=humans.url,
        json_data={"subject": "{{subject}}", "body": "{{body}}"},
    ).save(f"team-{suffix}", overwrite=True)
    NovitaPolicies(
        poll_initial_seconds=0.1,
        poll_max_seconds=0.3,
        notification_blocks=[f"custom-webhook/team-{suffix}"],
    ).save(f"notify-{suffix}", overwrite=True)
    return f"notify-{suffix}"


async def test_idle_instance_is_stopped_after_its_threshold_not_before(
    sim: SimulatorServer,
    receiver: Receiver,
    humans: Receiver,
    notify_policies: str,
    store: StateStore,
) -> None:
    idle_name, fresh_name = unique("idle"), unique("fresh")
    idle = await provision(idle_name, receiver)
    fresh = await provision(fresh_name, receiver)
    await backdate(store, idle, 25)  # past the default 20 min
    await backdate(store, fresh, 15)  # not yet
    mark = len(receiver.requests)

    report = await auto_stop_sweep(policies_block=notify_policies)
    assert report.stopped == [idle] and not report.errors and not report.dry_run
    assert [i.instance_id for i in report.eligible] == [idle]
    assert reasons(report)[fresh].startswith("used 15")
    assert stop_calls(sim) == [idle]
    async with NovitaClient(api_key=sim.api_key, base_url=sim.base_url) as client:
        assert (await client.get_instance(idle)).status == InstanceStatus.EXITED
        assert (await client.get_instance(fresh)).status == InstanceStatus.RUNNING

    rec = await store.get_instance(idle)
    assert rec is not None and rec.status == LifecycleStatus.STOPPED
    assert rec.desired_state == DesiredState.STOPPED and rec.stopped_at is not None
    ops = await store.list_operations(idle, kind=OperationKind.AUTO_STOP)
    assert [str(o.outcome) for o in reversed(ops)] == ["started", "succeeded"]
    assert ops[0].detail is not None and ops[0].detail["idle_minutes"] >= 25
    assert all(o.flow_run_id for o in ops)
    kept = await store.get_instance(fresh)
    assert kept is not None and kept.status == LifecycleStatus.READY

    events = []
    for request in receiver.requests[mark:]:
        signature = request.headers["X-Webhook-Signature"]
        assert verify_webhook_signature(WEBHOOK_SECRET, request.body, signature)
        events.append(json.loads(request.body))
    assert [(e["event"], e["instanceId"], e["status"]) for e in events] == [
        ("instance.auto_stopped", idle, "stopped")
    ]
    data = events[0]["data"]
    assert data["idleMinutes"] >= 25 and data["threshold"] == 20 and data["lastUsedAt"]
    assert data["name"] == idle_name

    messages = [json.loads(r.body) for r in humans.requests]
    assert len(messages) == 1 and idle_name in messages[0]["subject"]
    assert "auto-stopped" in messages[0]["subject"] and "idle" in messages[0]["body"]

    # a lower sweep-wide threshold reaches the fresher one too
    lower = await auto_stop_sweep(inactivity_minutes=10)
    assert lower.stopped == [fresh] and lower.threshold_minutes == 10
    assert stop_calls(sim) == [idle, fresh]


async def test_used_disabled_and_starting_instances_are_kept(
    sim: SimulatorServer, store: StateStore
) -> None:
    used_name = unique("used")
    used = await provision(used_name)
    never = await provision(unique("never"), auto_stop_minutes=0)
    starting = await provision(unique("starting"))
    creating = await provision(unique("creating"), wait_until_ready=False)
    for iid in (used, never, starting, creating):
        await backdate(store, iid, 120)
    await mark_instance_used_flow(name=used_name)
    await store.set_status(starting, LifecycleStatus.STARTING)  # a start run holds it

    report = await auto_stop_sweep(inactivity_minutes=1)
    assert report.stopped == [] and report.eligible == [] and stop_calls(sim) == []
    why = reasons(report)
    assert why[used].startswith("used 0")  # marked used just now
    assert "auto_stop_minutes=0" in why[never]
    assert "our status is starting" in why[starting]
    assert "our status is creating" in why[creating]
    for iid in (used, never):
        rec = await store.get_instance(iid)
        assert rec is not None and rec.status == LifecycleStatus.READY


async def test_unmanaged_instance_is_left_alone_unless_included(
    sim: SimulatorServer, store: StateStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    name = unique("outside")
    async with NovitaClient(api_key=sim.api_key, base_url=sim.base_url) as client:
        iid = await client.create_instance(
            CreateInstanceRequest(
                name=name,
                product_id="rtx4090-24g.us-ca-6",
                gpu_num=1,
                rootfs_size=60,
                image_url="pytorch/pytorch:latest",
                cluster_id="us-ca-6",
            )
        )
        for _ in range(100):
            if (await client.get_instance(iid)).status == InstanceStatus.RUNNING:
                break
            sim.advance(1)
    # Simulated time runs ahead of ours (speed 20): judge idleness on the simulator's clock,
    # an hour after it started.
    sim_now = datetime.fromtimestamp(sim.clock_state()["now"], UTC) + timedelta(hours=1)
    monkeypatch.setattr("flows.auto_stop_sweep.utc_now", lambda: sim_now)

    default = await auto_stop_sweep()
    assert default.stopped == [] and stop_calls(sim) == []
    assert "include_unmanaged is off" in reasons(default)[iid]

    included = await auto_stop_sweep(include_unmanaged=True)
    assert included.stopped == [iid] and stop_calls(sim) == [iid]
    idle = next(i for i in included.eligible if i.instance_id == iid)
    assert not idle.managed and idle.idle_minutes >= 60
    assert await store.get_instance(iid) is None  # still unmanaged
    ops = await store.list_operations(iid, kind=OperationKind.AUTO_STOP)
    assert [str(o.outcome) for o in reversed(ops)] == ["started", "succeeded"]
    assert all(o.name == name for o in ops)


async def test_dry_run_reports_without_stopping(sim: SimulatorServer, store: StateStore) -> None:
    iid = await provision(unique("dry"))
    await backdate(store, iid, 45)

    report = await auto_stop_sweep(dry_run=True)
    assert report.dry_run and report.stopped == []
    assert [(i.instance_id, i.threshold_minutes) for i in report.eligible] == [(iid, 20)]
    assert isinstance(report.eligible[0], IdleInstance)
    assert stop_calls(sim) == []
    rec = await store.get_instance(iid)
    assert rec is not None and rec.status == LifecycleStatus.READY
    assert rec.desired_state == DesiredState.RUNNING
    assert await store.list_operations(iid, kind=OperationKind.AUTO_STOP) == []

    from prefect.artifacts import Artifact

    artifact = await Artifact.aget(REPORT_KEY)
    assert artifact is not None and artifact.type == "table"
    assert iid in str(artifact.data) and "would stop (dry run)" in str(artifact.data)


async def test_bad_parameters_are_refused_before_any_call(sim: SimulatorServer) -> None:
    with pytest.raises(ParameterTypeError, match="inactivity_minutes"):
        await auto_stop_sweep(inactivity_minutes=0)
    assert sim.requests() == []
