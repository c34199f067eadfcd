"""provision-fleet: decided in bulk, bounded concurrency, failures stay local, few run records."""

from __future__ import annotations

import asyncio
import uuid
from datetime import datetime

import pytest
from prefect.client.orchestration import get_client
from prefect.client.schemas.filters import (
    FlowRunFilter,
    FlowRunFilterId,
    FlowRunFilterParentFlowRunId,
)

from flows.provision_fleet import FleetProvisioningFailedError, FleetRequest, provision_fleet
from simulator.server import SimulatorServer


def request(name: str, product_name: str = "RTX 4090 24GB", **extra: object) -> FleetRequest:
    return FleetRequest.model_validate(
        {"name": name, "product_name": product_name, "template_id": "1001", **extra}
    )


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def most_at_once(spans: list[tuple[datetime, datetime]]) -> int:
    """The largest number of spans open at one moment (an end frees its slot first)."""
    edges = sorted([(start, 1) for start, _ in spans] + [(end, -1) for _, end in spans])
    open_now = peak = 0
    for _, step in edges:
        open_now += step
        peak = max(peak, open_now)
    return peak


async def test_three_requests_two_at_a_time_all_ready(sim: SimulatorServer) -> None:
    names = [unique(f"fleet{i}") for i in range(3)]
    state = await provision_fleet(
        requests=[request(n) for n in names], concurrency=2, return_state=True
    )
    fleet = await state.aresult()

    assert (fleet.requested, fleet.succeeded, fleet.ready, fleet.failed) == (3, 3, 3, 0)
    assert [item.name for item in fleet.items] == names  # request order is kept
    ids = {item.result.instance_id for item in fleet.items if item.result}
    assert len(ids) == 3 and None not in ids
    assert all(item.ok and item.result and item.result.status == "ready" for item in fleet.items)
    assert len(sim.requests(path="/gpu/instance/create")) == 3

    # each request is its own create task run (named after it), never more than 2 at once;
    # the fleet waits for all three in one task run, and no subflow is started
    async with get_client() as client:
        runs = await client.read_task_runs(
            flow_run_filter=FlowRunFilter(
                id=FlowRunFilterId(any_=[state.state_details.flow_run_id])
            )
        )
        children = await client.read_flow_runs(
            flow_run_filter=FlowRunFilter(
                parent_flow_run_id=FlowRunFilterParentFlowRunId(
                    any_=[state.state_details.flow_run_id]
                )
            )
        )
    creates = {run.name: run for run in runs if run.name.startswith("create-")}
    assert set(creates) == {f"create-{n}" for n in names}
    spans = [(r.start_time, r.end_time) for r in creates.values() if r.start_time and r.end_time]
    assert len(spans) == 3 and most_at_once(spans) <= 2
    assert sum(run.name.startswith("novita-wait-for-fleet") for run in runs) == 1
    assert {run.name for run in runs if run.name.startswith("probe-")} == {
        f"probe-{n}" for n in names
    }
    assert children == []


async def test_one_failure_does_not_sink_the_others(sim: SimulatorServer) -> None:
    good, bad = unique("good"), unique("bad")
    fleet = await provision_fleet(
        requests=[
            request(good, wait_until_ready=False),
            request(bad, product_name="Z9000 1GB", wait_until_ready=False),
        ]
    )

    assert (fleet.requested, fleet.succeeded, fleet.failed) == (2, 1, 1)
    ok, failed = fleet.items
    assert ok.ok and ok.result is not None and ok.result.instance_id and ok.error is None
    assert not failed.ok and failed.result is None
    assert failed.error is not None
    assert "No region could provision Z9000 1GB (spot)" in failed.error
    assert "AS-SGP-02:" in failed.error  # each region with its reason
    creates = sim.requests(path="/gpu/instance/create")
    assert [c["body"]["name"] for c in creates] == [good]


async def test_every_request_failing_fails_the_fleet_naming_each(sim: SimulatorServer) -> None:
    first, second = unique("none1"), unique("none2")
    with pytest.raises(FleetProvisioningFailedError) as caught:
        await provision_fleet(
            requests=[
                request(first, product_name="Z9000 1GB"),
                request(second, product_name="Q1 2GB"),
            ]
        )
    message = str(caught.value)
    assert message.startswith("All 2 request(s) failed.")
    assert f"{first}: No region could provision Z9000 1GB" in message
    assert f"{second}: No region could provision Q1 2GB" in message
    assert sim.requests(path="/gpu/instance/create") == []


async def test_a_name_another_provisioning_holds_is_waited_for_then_adopted(
    sim: SimulatorServer,
) -> None:
    """The fleet claims each name before its lookup: it never rents a second machine.

    Another provisioning holds `<prefix>-00000` and creates it meanwhile; the fleet waits for
    the claim, then finds and adopts that machine. Looking up before claiming would find
    nothing and create a second one.
    """
    from datetime import timedelta

    from store import StateStore

    prefix = unique("held")
    held, free = f"{prefix}-00000", unique("free")
    async with StateStore() as store:
        assert await store.claim_name(held, "another-run", timedelta(minutes=5))

        async def the_other_provisioning() -> None:
            await asyncio.sleep(1.5)  # the fleet is waiting on the claim by now
            sim.state.seed_instances(1, name_prefix=prefix)
            await store.release_name(held, "another-run")

        other = asyncio.create_task(the_other_provisioning())
        fleet = await provision_fleet(requests=[request(held), request(free)], concurrency=2)
        await other

    items = {item.name: item for item in fleet.items}
    assert fleet.failed == 0
    assert items[held].result is not None and items[held].result.adopted
    assert len(sim.state.list_instances(page_size=100, name=held)["instances"]) == 1
    creates = [r["body"]["name"] for r in sim.requests(path="/gpu/instance/create")]
    assert creates == [free]
