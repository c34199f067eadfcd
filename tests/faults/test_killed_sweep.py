"""A worker killed (SIGKILL) mid-sweep: auto-stop-sweep dies right after its stop reached Novita.

An idle instance (ready 45 min ago, threshold 20) is stopped by `auto-stop-sweep` running in
a worker process of its own, killed as soon as the simulator received the stop call. It
leaves the record `stopping` (desired `stopped`), an `auto_stop` history entry `started` by
a flow run that Prefect still shows Running: a SIGKILLed process reports nothing, and
nothing in the project (nor the open-source Prefect server, without a zombie-run
automation) marks such a run Crashed.

What the next runs do:

- `test_next_scheduled_runs_alone_finish_the_stop`: the next auto-stop-sweep skips it (its
  desired state is stopped already). Prefect still says the killed run is Running, but the
  run's heartbeats on the record stopped with it (`flows/common/keep_alive.py`): once the
  record is older than the lease, fleet-sync takes it as ended, finds Novita's `exited` and
  records `stopped`.
- `test_once_prefect_knows_the_run_crashed_fleet_sync_finishes_it`: marked Crashed (what a
  process worker does when its flow-run process dies, and what a zombie-run automation does),
  the next fleet-sync finds Novita's `exited` and records `stopped`. One stop call in all.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

import pytest
from prefect.client.orchestration import get_client
from prefect.states import Crashed

import flows.common.activity as activity
from flows.auto_stop_sweep import auto_stop_sweep
from flows.fleet_sync import fleet_sync
from flows.provision import provision_instance
from simulator.server import SimulatorServer
from store import (
    DesiredState,
    LifecycleStatus,
    OperationKind,
    OperationOutcome,
    StateStore,
)
from tests.faults.conftest import Figures
from tests.faults.worker import AUTO_STOP_SWEEP, Worker

pytestmark = [pytest.mark.faults, pytest.mark.integration]

STOP = "/gpu/instance/stop"
IDLE_MINUTES = 45


@dataclass
class KilledSweep:
    """What the killed sweep left behind, and what happened since."""

    instance_id: str
    name: str
    killed_run_id: UUID
    observed: dict[str, Any] = field(default_factory=dict)


def stop_calls(sim: SimulatorServer, instance_id: str) -> int:
    return sum(r["body"]["instanceId"] == instance_id for r in sim.requests(path=STOP))


async def run_state(run_id: UUID) -> str:
    async with get_client() as client:
        run = await client.read_flow_run(run_id)
    return run.state.name if run.state else "?"


@pytest.fixture(scope="module")
async def killed_sweep(
    flow_env: None, flow_sim: SimulatorServer, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[KilledSweep]:
    sim = flow_sim
    sim.reset()
    sim.set_speed(20.0)
    name = f"idle-{uuid.uuid4().hex[:6]}"
    result = await provision_instance(name=name, product_name="RTX 4090 24GB", template_id="1001")
    iid = result.instance_id
    assert iid
    async with StateStore() as store:
        ago = datetime.now(UTC) - timedelta(minutes=IDLE_MINUTES)
        await store.upsert_instance(instance_id=iid, ready_at=ago)
        sim.set_speed(1.0)  # the stop takes 3 s to reach exited: the kill comes before
        log = tmp_path_factory.mktemp("killed-sweep") / "sweep.log"
        worker = await Worker.start(AUTO_STOP_SWEEP, log=log)

        async def stop_reached_novita() -> bool:
            return stop_calls(sim, iid) > 0

        await worker.kill_when(stop_reached_novita)
        sim.set_speed(20.0)
        record = await store.get_instance(iid)
        started = [
            op
            for op in await store.list_operations(iid, kind=OperationKind.AUTO_STOP)
            if op.outcome == OperationOutcome.STARTED
        ]
    assert record is not None and started and started[0].flow_run_id
    killed = KilledSweep(instance_id=iid, name=name, killed_run_id=UUID(started[0].flow_run_id))
    killed.observed["left_by_the_killed_sweep"] = (
        str(record.status),
        str(record.desired_state),
    )
    killed.observed["killed_run_state_in_prefect"] = await run_state(killed.killed_run_id)
    yield killed
    sim.clear_faults()
    sim.set_speed(20.0)


async def test_next_scheduled_runs_alone_finish_the_stop(
    killed_sweep: KilledSweep,
    flow_sim: SimulatorServer,
    figures: Figures,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    k = killed_sweep
    # The lease (90 s) shortened, then waited out: the killed run's heartbeats stopped.
    monkeypatch.setattr(activity, "BUSY_LEASE", timedelta(seconds=1))
    await asyncio.sleep(1.5)
    report = await auto_stop_sweep()
    skipped = {s.instance_id: s.reason for s in report.skipped}
    sync = await fleet_sync()
    async with StateStore() as store:
        record = await store.get_instance(k.instance_id)
    assert record is not None
    k.observed |= {
        "next_auto_stop_sweep": skipped.get(k.instance_id, "acted"),
        "next_fleet_sync_changes": [
            c.model_dump(mode="json") for c in sync.changed if c.instance_id == k.instance_id
        ],
        "record_after_next_runs": (str(record.status), str(record.desired_state)),
        "killed_run_state_in_prefect": await run_state(k.killed_run_id),
        "stop_calls_at_novita": stop_calls(flow_sim, k.instance_id),
    }
    figures("worker killed mid-sweep: the next scheduled runs, nobody marks the run", k.observed)

    assert k.observed["left_by_the_killed_sweep"] == ("stopping", "stopped")
    assert record.status == LifecycleStatus.STOPPED
    assert record.desired_state == DesiredState.STOPPED
    assert stop_calls(flow_sim, k.instance_id) == 1


async def test_once_prefect_knows_the_run_crashed_fleet_sync_finishes_it(
    killed_sweep: KilledSweep, flow_sim: SimulatorServer, figures: Figures
) -> None:
    k = killed_sweep
    async with get_client() as client:
        await client.set_flow_run_state(
            k.killed_run_id, Crashed(message="its process was killed (SIGKILL)"), force=True
        )
    started = time.monotonic()
    sync = await fleet_sync()
    took = time.monotonic() - started
    async with StateStore() as store:
        record = await store.get_instance(k.instance_id)
    live = flow_sim.state.get_instance(k.instance_id)
    assert record is not None
    figures(
        "worker killed mid-sweep: after the killed run is marked Crashed",
        {
            "fleet_sync_seconds": round(took, 1),
            "fleet_sync_changes": [
                c.model_dump(mode="json") for c in sync.changed if c.instance_id == k.instance_id
            ],
            "record": (str(record.status), str(record.desired_state)),
            "novita_status": live["status"],
            "stop_calls_at_novita": stop_calls(flow_sim, k.instance_id),
        },
    )

    assert live["status"] == "exited"
    assert record.status == LifecycleStatus.STOPPED
    assert record.desired_state == DesiredState.STOPPED
    # nothing done twice: the killed sweep's stop call is the only one
    assert stop_calls(flow_sim, k.instance_id) == 1
