"""A worker killed (SIGKILL) mid-provisioning: the next run finishes the job, nothing done twice.

Two provisionings run in worker processes of their own and are killed at two moments:

- **in the create**: the create call reached Novita and is still unanswered (the simulator
  holds it 4 s, then makes the machine anyway), so Novita has a machine the store never
  heard of, and the dead worker still holds the name's claim;
- **after the create**: the managed record says `creating`, the claim was released, the
  worker was waiting for the machine to run.

Then `provision-instance` runs again for each name, in-process. The first must wait until
the dead worker's claim lapses (its lease is the provisioning deadline, at least 60 s:
`flows/provisioning/provisioning.py` `Provisioning.name_claim`), then adopts the machine
Novita made; the second adopts the record at once. Each name ends with one create call,
one machine, one ready record.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from pathlib import Path

import pytest
from prefect.client.orchestration import get_client
from prefect.client.schemas.filters import FlowFilter, FlowFilterName

from flows.provision import provision_instance
from simulator.server import SimulatorServer
from store import LifecycleStatus, StateStore
from tests.faults.chaos import CREATE
from tests.faults.conftest import Figures
from tests.faults.worker import PROVISION, Worker

pytestmark = [pytest.mark.faults, pytest.mark.integration]

KILLED_RUN_DEADLINE_MINUTES = 1.0
"""The killed run's deadline: its name claim's lease is max(deadline left, 60 s)."""
CREATE_HELD_SECONDS = 4.0


def creates_of(sim: SimulatorServer, name: str) -> list[dict]:
    return [r for r in sim.requests(path=CREATE, method="POST") if r["body"]["name"] == name]


async def run_states(name_prefix: str) -> dict[str, str]:
    """State of each `provision-instance` run whose `name` parameter starts with the prefix."""
    async with get_client() as client:
        runs = await client.read_flow_runs(
            flow_filter=FlowFilter(name=FlowFilterName(any_=["provision-instance"])),
            limit=200,
        )
    return {
        str(run.parameters.get("name")): run.state.name if run.state else "?"
        for run in runs
        if str(run.parameters.get("name", "")).startswith(name_prefix)
    }


async def test_provisioning_killed_in_and_after_create_next_run_finishes_once(
    sim: SimulatorServer, store: StateStore, figures: Figures, tmp_path: Path
) -> None:
    prefix = f"killed-{uuid.uuid4().hex[:6]}"
    in_create, after_create = f"{prefix}-in-create", f"{prefix}-after-create"
    sim.set_speed(2.0)  # slow enough to kill a worker that waits for running (3 s)
    sim.hang_requests(1, seconds=CREATE_HELD_SECONDS, path=CREATE)  # the first create: held
    deadline = str(KILLED_RUN_DEADLINE_MINUTES)
    worker_in = await Worker.start(PROVISION, in_create, deadline, "", log=tmp_path / "in.log")
    await worker_in.kill_when(lambda: _has_create(sim, in_create))

    worker_after = await Worker.start(
        PROVISION, after_create, deadline, "", log=tmp_path / "after.log"
    )

    async def recorded_and_released() -> bool:
        record = await store.get_instance_by_name(after_create)
        return (
            record is not None
            and record.status == LifecycleStatus.CREATING
            and await store.get_name_claim(after_create) is None
        )

    await worker_after.kill_when(recorded_and_released)
    await asyncio.sleep(CREATE_HELD_SECONDS)  # the held create is now processed by Novita

    left = {
        "in_create_record": await store.get_instance_by_name(in_create),
        "in_create_claim": await store.get_name_claim(in_create),
        "after_create_record": await store.get_instance_by_name(after_create),
        "after_create_claim": await store.get_name_claim(after_create),
        "novita_has_in_create": bool(
            [i for i in sim.state.list_instances(name=in_create)["instances"]]
        ),
    }
    states_after_kill = await run_states(prefix)
    sim.set_speed(20.0)

    async def again(name: str) -> tuple[float, object]:
        started = time.monotonic()
        result = await provision_instance(
            name=name, product_name="RTX 4090 24GB", template_id="1001"
        )
        return time.monotonic() - started, result

    (took_in, result_in), (took_after, result_after) = await asyncio.gather(
        again(in_create), again(after_create)
    )
    claim = left["in_create_claim"]
    lease = round((claim.expires_at - claim.claimed_at).total_seconds(), 1) if claim else None
    records = {n: await store.get_instance_by_name(n) for n in (in_create, after_create)}
    live = {n: sim.state.list_instances(name=n)["instances"] for n in (in_create, after_create)}
    states = await run_states(prefix)

    figures(
        "worker killed mid-provisioning",
        {
            "killed_in_create: record_left": left["in_create_record"] is not None,
            "killed_in_create: claim_left": left["in_create_claim"] is not None,
            "killed_in_create: claim_lease_seconds": lease,
            "killed_in_create: novita_made_it_anyway": left["novita_has_in_create"],
            "killed_after_create: claim_left": left["after_create_claim"] is not None,
            "killed_after_create: record_left_status": (
                str(left["after_create_record"].status) if left["after_create_record"] else None
            ),
            "killed_runs_in_prefect_after_kill": states_after_kill,
            "next_run_seconds (in create)": round(took_in, 1),
            "next_run_seconds (after create)": round(took_after, 1),
            "next_run_adopted": {
                in_create: result_in.adopted,
                after_create: result_after.adopted,
            },
            "create_calls": {n: len(creates_of(sim, n)) for n in (in_create, after_create)},
            "instances_at_novita": {n: len(v) for n, v in live.items()},
            "records": {n: (str(r.status), str(r.desired_state)) for n, r in records.items() if r},
            "prefect_states_at_end": states,
        },
    )

    # the kill points were the intended ones
    assert left["in_create_record"] is None and left["in_create_claim"] is not None
    assert left["novita_has_in_create"]
    assert left["after_create_record"] is not None and left["after_create_claim"] is None
    # the next run finished each job: ready, adopted, and nothing was done twice
    for name, result in ((in_create, result_in), (after_create, result_after)):
        assert result.status == "ready" and result.adopted, name
        assert len(creates_of(sim, name)) == 1, name
        assert [i["id"] for i in live[name]] == [result.instance_id], name
        record = records[name]
        assert record is not None and record.instance_id == result.instance_id
        assert record.status == LifecycleStatus.READY, name
    # the claim of the run killed in the create lapsed after its lease (60 s from the claim)
    assert took_in < 90
    assert took_after < 90


async def _has_create(sim: SimulatorServer, name: str) -> bool:
    return bool(creates_of(sim, name))
