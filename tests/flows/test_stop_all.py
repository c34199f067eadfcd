"""stop-all: the plan in memory, then the flow against the simulator, a Prefect test server,
a real webhook receiver and a real notification block; the sweeps afterwards leave it stopped."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest

from clients.novita import CreateInstanceRequest, Instance, InstanceStatus, NovitaClient
from clients.webhook_signature import verify_webhook_signature
from flows.auto_stop_sweep import auto_stop_sweep
from flows.fleet_sync import fleet_sync
from flows.migration_sweep import migration_sweep
from flows.provision import provision_instance
from flows.stop_all import REPORT_KEY, StopAllRefusedError, stop_all_flow
from flows.sweeps.stop_all.rules import StopAllFilters, plan_stop_all
from simulator.server import SimulatorServer
from store import DesiredState, LifecycleStatus, ManagedInstance, OperationKind, StateStore
from tests.flows.conftest import WEBHOOK_SECRET
from tests.webhooks.receiver import Receiver, start_receiver

STOP = "/gpu/instance/stop"


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def stop_calls(sim: SimulatorServer) -> list[str]:
    return [r["body"]["instanceId"] for r in sim.requests(path=STOP)]


# -- the plan, in memory -------------------------------------------------------------------


def record(iid: str, name: str, status: str = "ready", **extra: Any) -> ManagedInstance:
    return ManagedInstance(instance_id=iid, name=name, status=status, **extra)


def test_plan_filters_by_prefix_region_and_management() -> None:
    ids = [f"{n:016x}" for n in range(1, 9)]
    records = [
        record(ids[0], "team-a", region="US-CA-06", price_per_hour=Decimal("0.35")),
        record(ids[1], "team-b", region="AS-SGP-02", price_per_hour=Decimal("0.40")),
        record(ids[2], "other-c", region="US-CA-06"),
        record(ids[3], "team-d", status="starting", region="US-CA-06"),
        record(ids[4], "team-e", status="stopped", desired_state="stopped", region="US-CA-06"),
        record(ids[5], "team-f", status="exited", region="US-CA-06"),  # reclaimed, wants running
    ]
    live = [
        Instance(id=ids[0], status="running", clusterName="US-CA-06 (California)"),
        Instance(id=ids[1], status="running", clusterId="as-sgp-2"),
        Instance(id=ids[2], status="running"),
        Instance(id=ids[3], status="running"),
        Instance(id=ids[4], status="exited"),
        Instance(id=ids[5], status="exited"),
        Instance(id=ids[6], name="team-g", status="running", clusterId="us-ca-6"),
        Instance(id=ids[7], name="team-h", status="exited"),
    ]

    plan = plan_stop_all(records, live, StopAllFilters(name_prefix="team-"))
    assert [c.instance_id for c in plan.to_stop] == [ids[0], ids[1], ids[5]]
    why = {s.instance_id: s.reason for s in plan.skipped}
    assert why[ids[3]].startswith("a start, provisioning or migration is bringing it up")
    assert "include_unmanaged is off" in why[ids[6]]
    assert plan.not_running == 2  # team-e (stopped on purpose), team-h (unmanaged, exited)
    # the reclaimed one is stopped (desired state) but saves nothing now
    assert plan.price_per_hour() == Decimal("0.75") and plan.unpriced() == 0

    by_region = plan_stop_all(
        records, live, StopAllFilters(name_prefix="team-", regions=["us-ca-6"])
    )
    assert [c.instance_id for c in by_region.to_stop] == [ids[0], ids[5]]
    by_name = plan_stop_all(records, live, StopAllFilters(regions=["AS-SGP-02"]))
    assert [c.instance_id for c in by_name.to_stop] == [ids[1]]

    everything = plan_stop_all(records, live, StopAllFilters(include_unmanaged=True))
    assert [c.instance_id for c in everything.to_stop] == [ids[0], ids[1], ids[2], ids[5], ids[6]]
    assert everything.unpriced() == 2  # other-c has no recorded price, team-g is unmanaged


# -- the flow ------------------------------------------------------------------------------


@pytest.fixture
def humans() -> Iterator[Receiver]:
    """Where the team's notification block posts (a Prefect custom webhook)."""
    rec, server = start_receiver()
    yield rec
    server.shutdown()
    server.server_close()


@pytest.fixture
def notify_policies(flow_env: None, humans: Receiver) -> str:
    """A named policies block whose notification block posts to `humans`."""
    from prefect.blocks.notifications import CustomWebhookNotificationBlock

    from blocks import NovitaPolicies

    suffix = uuid.uuid4().hex[:8]
    CustomWebhookNotificationBlock(
        name="novita-team",
        url=humans.url,
        json_data={"subject": "{{subject}}", "body": "{{body}}"},
    ).save(f"stopall-{suffix}", overwrite=True)
    NovitaPolicies(
        poll_initial_seconds=0.1,
        poll_max_seconds=0.3,
        notification_blocks=[f"custom-webhook/stopall-{suffix}"],
    ).save(f"stopall-{suffix}", overwrite=True)
    return f"stopall-{suffix}"


async def novita_status(sim: SimulatorServer, iid: str) -> InstanceStatus:
    async with NovitaClient(api_key=sim.api_key, base_url=sim.base_url) as client:
        return (await client.get_instance(iid)).status


async def test_stop_all_refuses_without_confirm_then_stops_and_they_stay_stopped(
    sim: SimulatorServer,
    receiver: Receiver,
    humans: Receiver,
    notify_policies: str,
    store: StateStore,
) -> None:
    from prefect.artifacts import Artifact

    prefix = unique("sa") + "-"
    names = [f"{prefix}a", f"{prefix}b"]
    provisioned = await asyncio.gather(
        *(
            provision_instance(
                name=name,
                product_name="RTX 4090 24GB",
                template_id="1001",
                webhook_url=receiver.url,
            )
            for name in names
        )
    )
    ids = [p.instance_id or "" for p in provisioned]
    async with NovitaClient(api_key=sim.api_key, base_url=sim.base_url) as client:
        stranger = await client.create_instance(
            CreateInstanceRequest(
                name=f"{prefix}stranger",
                product_id="rtx4090-24g.us-ca-6",
                rootfs_size=20,
                image_url="python:3.11-slim",
                cluster_id="us-ca-6",
            )
        )
    prices = [(await store.get_instance(i)).price_per_hour for i in ids]  # type: ignore[union-attr]
    assert all(prices)

    # without confirm: nothing stopped, the run Failed and says why (no traceback raised)
    state = await stop_all_flow(name_prefix=prefix, return_state=True)
    assert state.is_failed() and "confirm=true" in (state.message or "")
    assert "2 would be stopped" in (state.message or "")
    with pytest.raises(StopAllRefusedError):
        await state.aresult()
    assert stop_calls(sim) == []
    artifact = await Artifact.aget(REPORT_KEY)
    assert artifact is not None and "confirm=true missing" in str(artifact.data)

    # a dry run lists them, stops nothing
    dry = await stop_all_flow(name_prefix=prefix, dry_run=True)
    assert sorted(c.name for c in dry.matched) == names and dry.stopped == []
    assert [s.instance_id for s in dry.skipped] == [stranger]  # unmanaged, not included
    wider = await stop_all_flow(name_prefix=prefix, include_unmanaged=True, dry_run=True)
    assert sorted((c.instance_id, c.managed) for c in wider.matched) == sorted(
        [(ids[0], True), (ids[1], True), (stranger, False)]
    )
    assert stop_calls(sim) == []

    mark = len(receiver.requests)
    report = await stop_all_flow(name_prefix=prefix, confirm=True, policies_block=notify_policies)
    assert sorted(report.stopped) == sorted(ids) and not report.errors
    assert report.saved_per_hour == sum(prices, Decimal(0)) and report.unpriced == 0
    assert sorted(stop_calls(sim)) == sorted(ids)

    events = []
    for request in receiver.requests[mark:]:
        assert verify_webhook_signature(
            WEBHOOK_SECRET, request.body, request.headers["X-Webhook-Signature"]
        )
        events.append(json.loads(request.body))
    assert sorted((e["event"], e["instanceId"]) for e in events) == sorted(
        ("instance.stopped", i) for i in ids
    )
    messages = [json.loads(r.body) for r in humans.requests]
    assert len(messages) == 1
    total = f"${sum(prices, Decimal(0)):.2f}"
    assert total in messages[0]["subject"] and "stopped 2" in messages[0]["subject"]
    assert all(name in messages[0]["body"] for name in names)

    # the next sweeps leave them stopped (desired state stopped); the unmanaged one runs on
    await asyncio.gather(auto_stop_sweep(), migration_sweep(), fleet_sync(redeliver_webhooks=False))
    for iid in ids:
        assert await novita_status(sim, iid) == InstanceStatus.EXITED
        rec = await store.get_instance(iid)
        assert rec is not None and rec.status == LifecycleStatus.STOPPED
        assert rec.desired_state == DesiredState.STOPPED
        ops = await store.list_operations(iid, kind=OperationKind.STOP)
        assert [str(o.outcome) for o in reversed(ops)] == ["started", "succeeded"]
    assert sorted(stop_calls(sim)) == sorted(ids)
    assert await novita_status(sim, stranger) == InstanceStatus.RUNNING
