"""The deployments served by `python -m deployments.serve`, run through the prefect CLI."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from simulator.server import SimulatorServer
from store import LifecycleStatus, StateStore

ROOT = Path(__file__).resolve().parents[2]
PREFECT = str(Path(sys.executable).with_name("prefect"))


def api_url() -> str:
    from prefect.settings import get_current_settings

    url = get_current_settings().api.url
    assert url, "the Prefect test server should be running"
    return str(url)


@pytest.fixture(scope="module")
def served(flow_env: None) -> Iterator[dict[str, str]]:
    """`python -m deployments.serve` in its own process, against the test server."""
    env = os.environ | {"PREFECT_API_URL": api_url()}
    process = subprocess.Popen(
        [sys.executable, "-m", "deployments.serve"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        for name in ("provision-instance", "auto-stop-sweep", "migration-sweep", "fleet-sync"):
            wait_for_deployment(f"{name}/{name}", env, process)
        yield env
    finally:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()


def wait_for_deployment(name: str, env: dict[str, str], process: subprocess.Popen[str]) -> None:
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        assert process.poll() is None, process.stdout.read() if process.stdout else ""
        done = subprocess.run(
            [PREFECT, "deployment", "inspect", name],
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
        )
        if done.returncode == 0:
            return
        time.sleep(1)
    raise AssertionError(f"deployment {name} never appeared")


async def cli_run_provision(
    deployment: str, name: str, env: dict[str, str]
) -> subprocess.CompletedProcess[str]:
    """`prefect deployment run <deployment> --param ... --watch`, as a user types it."""
    params = [f"name={name}", "product_name=RTX 4090 24GB", "template_id=1001", "gpu_num=1"]
    return await asyncio.to_thread(
        subprocess.run,
        [PREFECT, "deployment", "run", deployment]
        + [arg for param in params for arg in ("--param", param)]
        + ["--watch", "--watch-timeout", "180"],
        env=env,
        capture_output=True,
        text=True,
        timeout=240,
    )


async def test_cli_runs_served_provision(
    served: dict[str, str], sim: SimulatorServer, store: StateStore
) -> None:
    name = f"cli-{uuid.uuid4().hex[:8]}"
    # template_id=1001 is parsed as JSON by the CLI: an int, accepted
    done = await cli_run_provision("provision-instance/provision-instance", name, served)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "Completed" in done.stdout
    record = await store.get_instance_by_name(name)
    assert record is not None and record.status == LifecycleStatus.READY
    creates = [r for r in sim.requests(path="/gpu/instance/create") if r["body"]["name"] == name]
    assert len(creates) == 1


async def test_sweeps_are_scheduled_one_run_at_a_time(served: dict[str, str]) -> None:
    from prefect.client.orchestration import get_client

    names = ["auto-stop-sweep", "migration-sweep", "fleet-sync", "provision-instance"]
    names += ["provision-fleet", "start-instance", "stop-instance"]
    async with get_client() as client:
        deployments = {n: await client.read_deployment_by_name(f"{n}/{n}") for n in names}
    expected = {"auto-stop-sweep": 300, "migration-sweep": 900, "fleet-sync": 600}
    for name, seconds in expected.items():
        deployment = deployments[name]
        intervals = [s.schedule.interval.total_seconds() for s in deployment.schedules]
        assert intervals == [seconds], (name, deployment.schedules, deployment.paused)
        assert deployment.global_concurrency_limit is not None
        assert deployment.global_concurrency_limit.limit == 1
        assert str(deployment.concurrency_options.collision_strategy).endswith("CANCEL_NEW")
    on_demand = {"provision-instance", "provision-fleet", "start-instance", "stop-instance"}
    assert all(deployments[n].schedules == [] for n in on_demand)


def test_prefect_yaml_declares_what_serve_serves() -> None:
    import yaml

    from deployments.catalog import DEPLOYMENTS

    declared = yaml.safe_load((ROOT / "prefect.yaml").read_text())["deployments"]
    by_name = {d["name"]: d for d in declared}
    for spec in DEPLOYMENTS:
        flow = spec.load_flow()
        entry = by_name.pop(flow.name)
        assert entry["entrypoint"] == spec.entrypoint
        seconds = [s["interval"] for s in entry.get("schedules", [])]
        assert seconds == ([spec.interval_minutes * 60] if spec.interval_minutes else [])
        if spec.interval_minutes:
            assert entry["concurrency_limit"] == {"limit": 1, "collision_strategy": "CANCEL_NEW"}
    assert by_name == {}
