"""The use signal that costs no flow run: a Prefect event `novita.instance.used` keeps an
instance from being auto-stopped, and the fleet table counts it (and shows the fleet's cost).

Rules in memory first, then the sweep against a real Prefect test server (the event is
emitted and stored there), the simulator and the state store.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from datetime import UTC, datetime, timedelta

from prefect import flow

from clients.novita import Instance, InstanceStatus, NovitaClient
from flows.auto_stop_sweep import auto_stop_sweep
from flows.common.dashboard_format import format_usd
from flows.common.events import instance_resource_id
from flows.common.resources import open_flow_resources
from flows.common.use_events import USE_EVENT, newest_use_events, use_event_line
from flows.fleet.table import FLEET_ARTIFACT_KEY, publish_fleet_table
from flows.provision import provision_instance
from flows.sweeps.auto_stop.rules import plan_auto_stop, recheck, use_event_lookback
from simulator.server import SimulatorServer
from store import LifecycleStatus, ManagedInstance, OperationKind, StateStore
from tests.flows.test_dashboard import latest_artifact

NOW = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)
GOOD = {"product_name": "RTX 4090 24GB", "template_id": "1001", "regions": ["US-CA-06"]}
STOP = "/gpu/instance/stop"


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


# -- rules, in memory (no server) ---------------------------------------------------------


def test_a_use_event_is_a_use_like_mark_used() -> None:
    ids = ["a" * 16, "b" * 16, "c" * 16]
    ready = NOW - timedelta(minutes=30)
    records = [
        ManagedInstance(instance_id=i, name=i[:4], status="ready", ready_at=ready) for i in ids
    ]
    live = [Instance(id=i, status="running") for i in ids]
    live.append(Instance(id="f" * 16, name="outside", status="running", createdAt="1"))
    used = {
        ids[0]: NOW - timedelta(minutes=3),  # a fresh event keeps it
        ids[1]: NOW - timedelta(hours=2),  # older than the ready time: does not count
        "f" * 16: NOW - timedelta(minutes=1),  # unmanaged instances count it too
    }
    plan = plan_auto_stop(records, live, NOW, 20, include_unmanaged=True, used_events=used)
    assert sorted(i.instance_id for i in plan.idle) == [ids[1], ids[2]]
    why = {s.instance_id: s.reason for s in plan.skipped}
    assert why[ids[0]] == "used 3 min ago; threshold 20 min"
    assert why["f" * 16] == "unmanaged; used 1 min ago; threshold 20 min"
    # without the events, all three and the outsider would be stopped
    assert len(plan_auto_stop(records, live, NOW, 20, include_unmanaged=True).idle) == 4
    # the re-check right before a stop sees an event that arrived meanwhile
    idle = next(i for i in plan.idle if i.instance_id == ids[2])
    assert recheck(idle, records[2], live[2], NOW, NOW).reason.startswith("used 0 min ago")
    # events older than the longest threshold in force are not even read
    own = records[0].model_copy(update={"auto_stop_minutes": 90})
    assert use_event_lookback([own, records[1]], 20) == timedelta(minutes=90)


def test_the_documented_line() -> None:
    assert use_event_line("0123456789abcdef") == (
        "prefect event emit novita.instance.used --resource-id novita.instance.0123456789abcdef"
    )


# -- against the test server ------------------------------------------------------------------


async def provision(name: str) -> str:
    result = await provision_instance(name=name, **GOOD)
    assert result.instance_id and result.status == "ready"
    return result.instance_id


async def emit_use_event(instance_id: str) -> None:
    """What the GPU machine's one line does, then wait until the server has stored it."""
    from prefect.events import emit_event

    emit_event(event=USE_EVENT, resource={"prefect.resource.id": instance_resource_id(instance_id)})
    window = datetime.now(UTC) - timedelta(minutes=5), datetime.now(UTC) + timedelta(minutes=5)
    for _ in range(240):  # the server writes events asynchronously
        if instance_id in await newest_use_events(*window, instance_ids=[instance_id]):
            return
        await asyncio.sleep(0.25)
    raise AssertionError(f"the use event of {instance_id} was never stored")


async def test_the_use_event_alone_keeps_an_instance_from_being_auto_stopped(
    sim: SimulatorServer, store: StateStore
) -> None:
    used, idle = await asyncio.gather(provision(unique("evt-used")), provision(unique("evt-idle")))
    half_hour_ago = datetime.now(UTC) - timedelta(minutes=30)
    for iid in (used, idle):  # both ready 30 min ago, past the default 20 min
        await store.upsert_instance(instance_id=iid, ready_at=half_hour_ago)
    await emit_use_event(used)

    report = await auto_stop_sweep()
    assert report.stopped == [idle] and not report.errors
    assert {s.instance_id: s.reason for s in report.skipped}[used].startswith("used 0")
    assert [r["body"]["instanceId"] for r in sim.requests(path=STOP)] == [idle]
    async with NovitaClient(api_key=sim.api_key, base_url=sim.base_url) as client:
        assert (await client.get_instance(used)).status == InstanceStatus.RUNNING
        assert (await client.get_instance(idle)).status == InstanceStatus.EXITED
    record = await store.get_instance(used)
    assert record is not None and record.status == LifecycleStatus.READY
    # the event alone: no mark-used flow ran, the store's last use was never written
    assert record.last_used_at is None
    assert await store.list_operations(used, kind=OperationKind.MARK_USED) == []

    # the fleet table agrees with the sweep, and its description gives the fleet's cost
    assert await publish_the_fleet_table()
    artifact = await latest_artifact(FLEET_ARTIFACT_KEY)
    description = artifact.description
    price = record.price_per_hour
    assert price is not None
    assert f"The managed fleet costs {format_usd(price)}/h now and $" in description
    assert " so far" in description
    rows = artifact.data if isinstance(artifact.data, list) else json.loads(artifact.data)
    row = next(r for r in rows if r["instance"] == used)
    assert row["auto-stop in"].endswith(" min")  # "due" from the ready time alone


@flow
async def publish_the_fleet_table() -> bool:
    """The table alone: fleet-sync would also reconcile every earlier test's record."""
    async with open_flow_resources() as res:
        return await publish_fleet_table(res) is not None
