"""Scale-out end to end: Prefect server on PostgreSQL, two process workers, three provisionings.

Runs what ``make scale-up`` runs (``deployments.scale.up``) on a free port, with fresh
databases (dropped afterwards) and a private data folder, against an in-process simulator;
then starts three ``provision-instance`` deployment runs at once and checks that the workers
ran them all, that the simulator has three distinct machines and that the store on
PostgreSQL records them. About 40 s on two cores.

PostgreSQL must answer (``.ci/ensure-postgres`` starts it; ``NOVITA_SCALE_POSTGRES_URL``
points elsewhere): without it this test fails with a message saying so, it never skips.
"""

from __future__ import annotations

import asyncio
import re
import socket
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest

from deployments.scale import ScaleConfig, down, up
from deployments.scale_postgres import (
    PostgresUnavailableError,
    check_postgres,
    postgres_server_url,
)
from deployments.scale_prefect import RESULTS_BLOCK
from simulator.server import SimulatorServer

pytestmark = pytest.mark.integration

NAMES = ["scale-1", "scale-2", "scale-3"]
PARAMETERS = {"product_name": "RTX 4090 24GB", "template_id": 1001}
RUNS_TIMEOUT = 75.0


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


async def _require_postgres() -> None:
    problem = None
    try:
        await check_postgres(postgres_server_url())
    except PostgresUnavailableError as exc:
        problem = str(exc)
    if problem:  # outside the except: the message alone, no chained traceback
        pytest.fail(f"the scale-out test needs PostgreSQL: {problem}", pytrace=False)


@asynccontextmanager
async def _scaled_out(data_dir: Path, sim: SimulatorServer) -> AsyncIterator[ScaleConfig]:
    """``deployments.scale.up`` on a free port with fresh databases; ``down`` drops them."""
    suffix = uuid.uuid4().hex[:10]
    config = ScaleConfig(
        workers=2,
        port=_free_port(),
        prefect_database=f"novita_prefect_test_{suffix}",
        state_database=f"novita_state_test_{suffix}",
        data_dir=data_dir,
        worker_prefix=f"scale-test-{suffix}",
        poll_seconds=1,
        # Two runs per worker at most: three runs at once need both workers.
        worker_limit=2,
        # No scheduled sweeps competing with the runs under test for two cores.
        server_extra_env={"PREFECT_SERVER_SERVICES_SCHEDULER_ENABLED": "false"},
        flow_run_extra_env={"NOVITA_API_BASE_URL": sim.base_url, "NOVITA_API_KEY": sim.api_key},
    )
    try:
        # `up` is the blocking command-line path (it runs its own event loops): a thread.
        started = time.monotonic()
        timings = await asyncio.to_thread(up, config)
        print(f"scale up: {timings} total {time.monotonic() - started:.1f} s")
        yield config
    finally:
        await asyncio.to_thread(down, config, True)


async def _run_concurrently(api_url: str) -> list[Any]:
    from prefect.client.orchestration import PrefectClient

    async with PrefectClient(api_url) as client:
        deployment = await client.read_deployment_by_name("provision-instance/provision-instance")
        created = await asyncio.gather(
            *(
                client.create_flow_run_from_deployment(
                    deployment.id, parameters={"name": name, **PARAMETERS}
                )
                for name in NAMES
            )
        )
        deadline = time.monotonic() + RUNS_TIMEOUT
        while True:
            runs = [await client.read_flow_run(run.id) for run in created]
            if all(run.state and run.state.is_final() for run in runs):
                return runs
            if time.monotonic() > deadline:
                return runs
            await asyncio.sleep(1)


def _submissions(config: ScaleConfig) -> dict[str, str]:
    """``{flow run id: worker name}`` from the workers' own logs."""
    pattern = re.compile(r"Worker '([^']+)' submitting flow run '([0-9a-f-]+)'")
    found: dict[str, str] = {}
    for log in config.log_dir.glob(f"{config.worker_prefix}-*.log"):
        for worker, run_id in pattern.findall(log.read_text(errors="replace")):
            found[run_id] = worker
    return found


def _logs_tail(config: ScaleConfig, lines: int = 25) -> str:
    tails = []
    for log in sorted(config.log_dir.glob("*.log")):
        text = log.read_text(errors="replace").splitlines()[-lines:]
        tails.append(f"--- {log.name}\n" + "\n".join(text))
    return "\n".join(tails)


async def _store_records(state_url: str) -> list[Any]:
    from store import StateStore

    async with StateStore(state_url) as store:
        return await store.list_instances()


async def _results_block_id(api_url: str) -> Any:
    from prefect.client.orchestration import PrefectClient

    async with PrefectClient(api_url) as client:
        block = await client.read_block_document_by_name(RESULTS_BLOCK, "local-file-system")
        return block.id


def _missing_files(folder: Path, keys: list[str]) -> list[str]:
    return [key for key in keys if not (folder / key).is_file()]


async def test_three_provisionings_through_two_workers_on_postgres(tmp_path: Path) -> None:
    await _require_postgres()
    async with (
        SimulatorServer(speed=20) as sim,
        _scaled_out(tmp_path / "scale", sim) as config,
    ):
        started = time.monotonic()
        runs = await _run_concurrently(config.api_url)
        print(f"3 concurrent provision-instance runs: {time.monotonic() - started:.1f} s")
        await _check(config, sim, runs)


async def _check(config: ScaleConfig, sim: SimulatorServer, runs: list[Any]) -> None:
    states = {run.name: run.state.name if run.state else None for run in runs}
    assert all(run.state and run.state.is_completed() for run in runs), (
        f"{states}\n{_logs_tail(config)}"
    )
    # Through the work pool's process workers, both of them (the workers' logs say who).
    assert {run.work_pool_name for run in runs} == {config.pool}
    assert all(run.infrastructure_pid for run in runs)
    submitted = _submissions(config)
    assert {submitted.get(str(run.id)) for run in runs} == set(config.worker_names())

    # Three distinct machines in the simulated cloud, named as asked.
    async with httpx.AsyncClient(
        base_url=sim.base_url, headers={"Authorization": f"Bearer {sim.api_key}"}
    ) as client:
        listing = (await client.get("/gpu/instances", params={"pageSize": 50})).json()
    instances = listing["instances"]
    assert sorted(i["name"] for i in instances) == NAMES
    assert len({i["id"] for i in instances}) == 3

    # The store on PostgreSQL holds the same three, one record each.
    records = await _store_records(config.state_url)
    assert sorted(r.name for r in records) == NAMES
    assert {r.instance_id for r in records} == {i["id"] for i in instances}

    # Each flow's result went to the results block on the folder every worker shares.
    results_block = await _results_block_id(config.api_url)
    stored = [getattr(run.state.data, "metadata", run.state.data) for run in runs]
    assert {meta.storage_block_id for meta in stored} == {results_block}
    assert _missing_files(config.results_dir, [meta.storage_key for meta in stored]) == []
