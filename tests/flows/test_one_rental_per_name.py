"""One rental per name: two processes provisioning one name at the same instant rent one machine.

Two worker processes run `provision_instance` for the same 20 names; before each name they
meet at a file barrier and start together. Whatever the order, each name ends with exactly
one instance at Novita and one managed record, on SQLite and on PostgreSQL (the name claim
in the store serializes them; the second adopts what the first created).
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
import textwrap
import uuid
from pathlib import Path

import pytest

from simulator.server import SimulatorServer
from store import StateStore
from tests.flows.test_served_deployments import api_url
from tests.store.conftest import pg_database

ROOT = Path(__file__).resolve().parents[2]
TRIALS = 20

WORKER = textwrap.dedent(
    """
    import asyncio, json, sys, time
    from pathlib import Path

    from flows.provision import provision_instance

    async def main(folder: Path, me: str, names: list[str]) -> None:
        results = {}
        for name in names:
            (folder / f"{name}.{me}").touch()
            while not all((folder / f"{name}.{w}").exists() for w in ("a", "b")):
                time.sleep(0.002)  # a busy barrier: both start within milliseconds
            try:
                result = await provision_instance(
                    name=name, product_name="RTX 4090 24GB", template_id="1001",
                    wait_until_ready=False,
                )
                results[name] = {"id": result.instance_id, "adopted": result.adopted}
            except Exception as exc:
                results[name] = {"error": f"{type(exc).__name__}: {exc}"}
        (folder / f"results.{me}.json").write_text(json.dumps(results))

    asyncio.run(main(Path(sys.argv[1]), sys.argv[2], sys.argv[3:]))
    """
)


async def run_two_workers(tmp_path: Path, names: list[str], state_url: str) -> list[dict]:
    env = os.environ | {
        "PREFECT_API_URL": api_url(),
        "NOVITA_STATE_URL": state_url,
        "PYTHONPATH": str(ROOT),
    }
    processes = [
        await asyncio.create_subprocess_exec(
            sys.executable,
            "-c",
            WORKER,
            str(tmp_path),
            me,
            *names,
            cwd=ROOT,
            env=env,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
        )
        for me in ("a", "b")
    ]
    outputs = [await asyncio.wait_for(p.communicate(), timeout=300) for p in processes]
    for process, (output, _) in zip(processes, outputs, strict=True):
        assert process.returncode == 0, output.decode()[-3000:]
    return [json.loads((tmp_path / f"results.{me}.json").read_text()) for me in ("a", "b")]


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
async def test_two_processes_one_name_one_machine_20_of_20(
    sim: SimulatorServer, tmp_path: Path, backend: str
) -> None:
    names = [f"twin-{uuid.uuid4().hex[:6]}-{i}" for i in range(TRIALS)]
    if backend == "sqlite":
        state_url = f"sqlite+aiosqlite:///{tmp_path / 'state.db'}"
        results = await run_two_workers(tmp_path, names, state_url)
        await check(sim, names, results, state_url)
    else:
        async with pg_database() as state_url:
            results = await run_two_workers(tmp_path, names, state_url)
            await check(sim, names, results, state_url)


async def check(
    sim: SimulatorServer, names: list[str], results: list[dict], state_url: str
) -> None:
    creates = [r["body"]["name"] for r in sim.requests(path="/gpu/instance/create")]
    async with StateStore(state_url) as store:
        records = await store.list_instances()
    for name in names:
        ids = {r[name].get("id") for r in results}
        assert None not in ids and len(ids) == 1, (name, results[0][name], results[1][name])
        assert creates.count(name) == 1, name  # one machine rented, not two
        assert [r.name for r in records].count(name) == 1, name
        assert sum(r[name]["adopted"] for r in results) == 1  # the second adopted the first
