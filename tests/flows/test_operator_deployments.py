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
from pathlib import Path

import pytest

from clients.novita import InstanceStatus, NovitaClient
from flows.provision import provision_instance
from simulator.server import SimulatorServer
from store import DesiredState, LifecycleStatus, StateStore

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


async def test_operator_flows_answer_through_the_cli(
    served: dict[str, str], sim: SimulatorServer, store: StateStore
) -> None:
    tag = uuid.uuid4().hex[:8]
    looked_at, to_stop, unknown = f"cli-look-{tag}", f"cli-stop-{tag}-a", f"cli-nobody-{tag}"
    provisioned = await asyncio.gather(
        *(
            provision_instance(name=n, product_name="RTX 4090 24GB", template_id="1001")
            for n in (looked_at, to_stop)
        )
    )
    look_id, stop_id = (p.instance_id or "" for p in provisioned)

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
