"""Every flow served with Prefect's own one-line `flow.serve()` runs through its deployment.

`flow.serve()` records a file-path entrypoint and the served run loads the flow in a process
of its own, where the parameter types must resolve (`Provision_InstanceModel is not fully
defined` was the failure when flow modules used `from __future__ import annotations`).
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from simulator.server import SimulatorServer
from store import LifecycleStatus, StateStore
from tests.flows.test_served_deployments import api_url, cli_run_provision, wait_for_deployment

ROOT = Path(__file__).resolve().parents[2]

SERVE_ONE = (
    "from flows.provision import provision_instance; provision_instance.serve(name='one-line')"
)
SERVE_ALL = """
from prefect import serve
from deployments.catalog import DEPLOYMENTS
flows = [spec.load_flow() for spec in DEPLOYMENTS]
serve(*[f.to_deployment(name="one-line") for f in flows if f.name != "provision-instance"])
"""
OTHER_RUNS: dict[str, dict[str, Any]] = {
    "provision-fleet": {
        "requests": [{"name": "fleet-plan", "product_name": "RTX 4090 24GB", "template_id": 1001}],
        "dry_run": True,
    },
    "start-instance": {"name": "nobody-here"},
    "stop-instance": {"name": "nobody-here"},
    "delete-instance": {"name": "nobody-here"},
    "mark-instance-used": {"name": "nobody-here"},
    "auto-stop-sweep": {"dry_run": True},
    "migration-sweep": {"dry_run": True},
    "fleet-sync": {},
}
"""Harmless runs: a lookup of an unknown name fails in the flow body, after validation."""


def start(code: str, env: dict[str, str]) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-c", code],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def stop(process: subprocess.Popen[str]) -> None:
    process.send_signal(signal.SIGINT)
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        process.kill()


@pytest.fixture(scope="module")
def one_line_served(flow_env: None) -> Iterator[dict[str, str]]:
    env = os.environ | {"PREFECT_API_URL": api_url(), "PYTHONPATH": str(ROOT)}
    processes = [start(SERVE_ONE, env), start(SERVE_ALL, env)]
    try:
        wait_for_deployment("provision-instance/one-line", env, processes[0])
        for name in OTHER_RUNS:
            wait_for_deployment(f"{name}/one-line", env, processes[1])
        yield env
    finally:
        for process in processes:
            stop(process)


async def test_one_line_serve_runs_provision_instance(
    one_line_served: dict[str, str], sim: SimulatorServer, store: StateStore
) -> None:
    name = f"one-line-{uuid.uuid4().hex[:8]}"
    done = await cli_run_provision("provision-instance/one-line", name, one_line_served)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "Completed" in done.stdout
    record = await store.get_instance_by_name(name)
    assert record is not None and record.status == LifecycleStatus.READY


async def test_one_line_serve_runs_every_other_flow(
    one_line_served: dict[str, str], sim: SimulatorServer
) -> None:
    from prefect.deployments import run_deployment

    async def run(name: str, parameters: dict[str, Any]) -> tuple[str, Any]:
        flow_run = await run_deployment(
            f"{name}/one-line", parameters=parameters, timeout=180, poll_interval=1
        )
        return name, flow_run.state

    states = dict(await asyncio.gather(*(run(n, p) for n, p in OTHER_RUNS.items())))
    for name, state in states.items():
        message = state.message or ""
        assert state.is_final(), (name, state)
        assert "Validation of flow parameters failed" not in message, (name, message)
        assert "not fully defined" not in message, (name, message)
        if "nobody-here" in str(OTHER_RUNS[name]):
            assert state.is_failed() and "nobody-here" in message, (name, message)
        else:
            assert state.is_completed(), (name, message)
