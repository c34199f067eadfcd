"""get-instance and stop-all through their served deployments, run with the prefect CLI."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pytest

from clients.novita import CreateInstanceRequest, InstanceStatus, NovitaClient
from simulator.server import SimulatorServer
from store import DesiredState, LifecycleStatus, StateStore, utc_now

ROOT = Path(__file__).resolve().parents[2]
PREFECT = str(Path(sys.executable).with_name("prefect"))
OPERATOR_DEPLOYMENTS = ("get-instance", "stop-all")

SERVE_THEM = (
    "import asyncio\n"
    "from prefect import aserve\n"
    "from deployments.serve import build_deployments\n"
    f"wanted = {OPERATOR_DEPLOYMENTS!r}\n"
    "asyncio.run(aserve(*[d for d in build_deployments() if d.name in wanted]))\n"
)
"""`deployments.serve`'s own deployments, only these two (no scheduled sweeps meanwhile)."""


def api_url() -> str:
    from prefect.settings import get_current_settings

    url = get_current_settings().api.url
    assert url, "the Prefect test server should be running"
    return str(url)


@pytest.fixture(scope="module")
def served(flow_env: None) -> Iterator[dict[str, str]]:
    """The two operator deployments served in their own process, against the test server."""
    env = os.environ | {
        "PREFECT_API_URL": api_url(),
        "PREFECT_RUNNER_POLL_FREQUENCY": "1",
        "COLUMNS": "250",  # the CLI's rich console wraps at 80 columns when captured
    }
    process = subprocess.Popen(
        [sys.executable, "-c", SERVE_THEM],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        wait_for_deployments(process)
        yield env
    finally:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()


def wait_for_deployments(process: subprocess.Popen[str]) -> None:
    """Poll the server from this process (a CLI call per poll would cost seconds each)."""
    from prefect.client.orchestration import get_client
    from prefect.exceptions import ObjectNotFound

    with get_client(sync_client=True) as client:
        for _ in range(900):
            assert process.poll() is None, process.stdout.read() if process.stdout else ""
            try:
                for name in OPERATOR_DEPLOYMENTS:
                    client.read_deployment_by_name(f"{name}/{name}")
                return
            except ObjectNotFound:
                time.sleep(0.2)
    raise AssertionError("the operator deployments never appeared")


async def cli_run(
    deployment: str, params: list[str], env: dict[str, str]
) -> subprocess.CompletedProcess[str]:
    """`prefect deployment run <deployment> --param ... --watch`, as a user types it."""
    return await asyncio.to_thread(
        subprocess.run,
        [PREFECT, "deployment", "run", f"{deployment}/{deployment}"]
        + [arg for param in params for arg in ("--param", param)]
        + ["--watch", "--watch-timeout", "180"],
        env=env,
        capture_output=True,
        text=True,
        timeout=240,
    )


async def managed_machine(sim: SimulatorServer, store: StateStore, name: str) -> str:
    """A running machine the store manages as ready, without a provisioning run (cheaper:
    provisioning has its own CLI test in test_served_deployments.py)."""
    async with NovitaClient(api_key=sim.api_key, base_url=sim.base_url) as client:
        iid = await client.create_instance(
            CreateInstanceRequest(
                name=name,
                product_id="rtx4090-24g.us-ca-6",
                rootfs_size=20,
                image_url="python:3.11-slim",
                cluster_id="us-ca-6",
                ports="8888/http,22/tcp",
            )
        )
        for _ in range(200):
            if (await client.get_instance(iid)).status == InstanceStatus.RUNNING:
                break
            await asyncio.sleep(0.05)
    await store.upsert_instance(
        instance_id=iid,
        name=name,
        cluster_id="us-ca-6",
        region="US-CA-06",
        product_id="rtx4090-24g.us-ca-6",
        product_name="RTX 4090 24GB",
        price_per_hour=Decimal("0.35"),
        status=LifecycleStatus.READY,
        ready_at=utc_now(),
    )
    return iid


async def test_operator_flows_answer_through_the_cli(
    served: dict[str, str], sim: SimulatorServer, store: StateStore
) -> None:
    tag = uuid.uuid4().hex[:8]
    looked_at, to_stop, unknown = f"cli-look-{tag}", f"cli-stop-{tag}-a", f"cli-nobody-{tag}"
    look_id, stop_id = await asyncio.gather(
        *(managed_machine(sim, store, n) for n in (looked_at, to_stop))
    )

    # one CLI run per case, at once: the served process runs them side by side
    found, missing, stopped = await asyncio.gather(
        cli_run("get-instance", [f"name={looked_at}"], served),
        cli_run("get-instance", [f"name={unknown}"], served),
        cli_run("stop-all", [f"name_prefix=cli-stop-{tag}-", "confirm=true"], served),
    )

    assert found.returncode == 0, found.stdout + found.stderr
    assert f"{looked_at!r} ({look_id}): Novita reports running" in found.stdout
    assert "ssh: ssh " in found.stdout and "cost so far" in found.stdout

    out = missing.stdout + missing.stderr
    assert missing.returncode == 1, out
    assert f"No instance with name {unknown!r}" in out and "Traceback" not in out

    assert stopped.returncode == 0, stopped.stdout + stopped.stderr
    assert "1 stopped" in stopped.stdout

    stop_calls = [r["body"]["instanceId"] for r in sim.requests(path="/gpu/instance/stop")]
    assert stop_calls == [stop_id]
    async with NovitaClient(api_key=sim.api_key, base_url=sim.base_url) as client:
        assert (await client.get_instance(stop_id)).status == InstanceStatus.EXITED
        assert (await client.get_instance(look_id)).status == InstanceStatus.RUNNING
    record = await store.get_instance(stop_id)
    assert record is not None and record.status == LifecycleStatus.STOPPED
    assert record.desired_state == DesiredState.STOPPED
