"""The main job, end to end on the embedded default: simulator + local Prefect server.

`python -m deployments.demo` (what `make demo` runs):

0. walks one instance through its statuses with the plain Novita client,
1. starts the Novita simulator and a local `prefect server start` (SQLite under `data/demo/`),
2. registers the block types and saves the default credentials / webhook / policy blocks,
3. serves every deployment (`python -m deployments.serve`),
4. triggers `provision-instance` through its deployment twice, as a user would from the UI,
5. makes one machine idle and has the other reclaimed by the (simulated) cloud, then runs
   `auto-stop-sweep`, `migration-sweep` and `fleet-sync` through their deployments,
6. prints what happened and the UI address, and exits 0 (`--keep-running` stays up).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx

from deployments.client_walkthrough import walkthrough
from simulator.server import SimulatorServer

ROOT = Path(__file__).resolve().parents[1]
DEMO_DIR = ROOT / "data" / "demo"
DEFAULT_PORT = 4200
SIMULATOR_SPEED = 5.0
DEMO_WEBHOOK_SECRET = "demo-signing-secret-not-for-production"
FLEET_ARTIFACT_PATH = "/v2/artifacts/key/novita-fleet"


def say(message: str) -> None:
    """Print one line of the demo's story, flushed so it appears as it happens."""
    print(message, flush=True)


def prefect_env(port: int) -> dict[str, str]:
    """Environment of every demo process: the local server, a demo home, the demo state."""
    return {
        "PREFECT_API_URL": f"http://127.0.0.1:{port}/api",
        "PREFECT_UI_API_URL": f"http://127.0.0.1:{port}/api",  # else the UI calls port 4200
        "PREFECT_HOME": str(DEMO_DIR / "prefect-home"),
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
        "DO_NOT_TRACK": "1",
        # the server streams flow-run logs, so `prefect deployment run ... --watch` shows them
        "PREFECT_SERVER_LOGS_STREAM_OUT_ENABLED": "true",
        "PREFECT_SERVER_LOGS_STREAM_PUBLISHING_ENABLED": "true",
        "NOVITA_STATE_URL": f"sqlite+aiosqlite:///{DEMO_DIR / 'state.db'}",
    }


def start_prefect_server(port: int, env: dict[str, str]) -> subprocess.Popen[bytes]:
    """`prefect server start` in the background; returns once /api/health answers."""
    log = (DEMO_DIR / "prefect-server.log").open("wb")
    process = subprocess.Popen(
        [
            str(Path(sys.executable).with_name("prefect")),
            "server",
            "start",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
        ],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"prefect server exited; see {DEMO_DIR / 'prefect-server.log'}")
        try:
            if httpx.get(f"http://127.0.0.1:{port}/api/health", timeout=2).status_code == 200:
                return process
        except httpx.HTTPError:
            pass
        time.sleep(1)
    raise RuntimeError("prefect server did not become healthy within 120 s")


def start_serving(env: dict[str, str]) -> subprocess.Popen[bytes]:
    """`python -m deployments.serve` in the background, logging under data/demo/."""
    log = (DEMO_DIR / "serve.log").open("wb")
    return subprocess.Popen(
        [sys.executable, "-m", "deployments.serve"],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )


def stop(process: subprocess.Popen[bytes] | None) -> None:
    """Stop a background process group (a second signal for processes that ignore the first)."""
    if process is None or process.poll() is not None:
        return
    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGKILL):
        try:
            os.killpg(process.pid, sig)
            process.wait(timeout=15)
            return
        except subprocess.TimeoutExpired:
            continue
        except ProcessLookupError:
            return


async def save_blocks(sim: SimulatorServer) -> None:
    """Register block types and save the defaults the flows resolve."""
    from pydantic import SecretStr

    from blocks import NovitaCredentials, NovitaPolicies, WebhookSettings

    for block_type in (NovitaCredentials, NovitaPolicies, WebhookSettings):
        await block_type.aregister_type_and_schema()
    await NovitaCredentials(api_key=SecretStr(sim.api_key), base_url=sim.base_url).asave(
        "default", overwrite=True
    )
    await WebhookSettings(signing_secret=SecretStr(DEMO_WEBHOOK_SECRET)).asave(
        "default", overwrite=True
    )
    await NovitaPolicies(poll_initial_seconds=0.5, poll_max_seconds=2.0).asave(
        "default", overwrite=True
    )


async def wait_for_deployments(names: list[str], within: float = 120) -> None:
    """Wait until the served process has registered every named deployment."""
    from prefect.client.orchestration import get_client

    deadline = time.monotonic() + within
    async with get_client() as client:
        while time.monotonic() < deadline:
            present = {d.name for d in await client.read_deployments()}
            if set(names) <= present:
                return
            await asyncio.sleep(1)
    raise RuntimeError(f"deployments {names} were not served within {within} s")


async def run(name: str, parameters: dict[str, Any]) -> None:
    """Run a deployment as the UI would and wait for it to complete."""
    from prefect.deployments import run_deployment

    for _ in range(5):
        flow_run = await run_deployment(
            f"{name}/{name}", parameters=parameters, timeout=600, poll_interval=1, as_subflow=False
        )
        state = flow_run.state
        if state is not None and state.is_completed():
            return
        # a sweep allows one run at a time: ours is cancelled while its scheduled run goes on
        if state is None or not state.is_cancelled():
            break
        await asyncio.sleep(3)
    raise RuntimeError(f"{name} ended {state.name if state else 'without a state'}")


async def story(sim: SimulatorServer, port: int) -> None:
    """Provision two machines, make one idle and reclaim the other, sweep, sync, report.

    Outcomes are read back from the state store, the same record the flows wrote.
    """
    from store import LifecycleStatus, StateStore, utc_now

    say("-- the Novita client alone: one instance through its statuses")
    await walkthrough(sim.base_url, sim.api_key)
    say("-- the same cloud through Prefect deployments")
    await save_blocks(sim)
    say("blocks registered: novita-credentials, novita-webhook-settings, novita-policies")
    await wait_for_deployments(
        ["provision-instance", "auto-stop-sweep", "migration-sweep", "fleet-sync"]
    )
    say("deployments served; triggering provision-instance through its deployment")
    async with StateStore() as store:
        for name in ("demo-idle", "demo-spot"):
            await run(
                "provision-instance",
                {"name": name, "product_name": "RTX 4090 24GB", "template_id": "1001"},
            )
            record = await store.get_instance_by_name(name)
            assert record is not None and record.status == LifecycleStatus.READY
            say(
                f"  {name}: {record.status} {record.instance_id} in {record.region} "
                f"({record.product_id}, ${record.price_per_hour}/h)"
            )
        idle = await store.get_instance_by_name("demo-idle")
        spot = await store.get_instance_by_name("demo-spot")
        assert idle is not None and spot is not None
        await store.set_status(
            idle.instance_id, idle.status, ready_at=utc_now() - timedelta(minutes=45)
        )
        say("demo-idle: last used 45 minutes ago (simulated idleness)")
        sim.reclaim_spot(spot.instance_id, immediate=True)
        say(f"demo-spot: reclaimed by the (simulated) cloud, {spot.instance_id} is exited")

        await run("auto-stop-sweep", {})
        idle = await store.get_instance(idle.instance_id)
        stopped = [idle.name] if idle and idle.status == LifecycleStatus.STOPPED else []
        say(f"auto-stop-sweep: stopped {len(stopped)} {', '.join(stopped)}")
        await run("migration-sweep", {})
        after = await store.get_instance_by_name("demo-spot")
        assert after is not None
        moved = int(after.status == LifecycleStatus.READY)
        say(f"migration-sweep: migrated {moved} (demo-spot {after.status} as {after.instance_id})")
    await run("fleet-sync", {})
    say("fleet-sync: published the novita-fleet table")
    say(
        f"Prefect UI: http://127.0.0.1:{port}  (fleet: http://127.0.0.1:{port}{FLEET_ARTIFACT_PATH})"
    )


def shoot_fleet_table(port: int, screenshot: Path) -> None:
    """Open the fleet table in a real browser, save the PNG and the rows it rendered."""
    from deployments.fleet_screenshot import capture_fleet_table

    rows = capture_fleet_table(f"http://127.0.0.1:{port}", screenshot)
    screenshot.with_suffix(".json").write_text(json.dumps(rows, indent=1))
    say(f"the UI rendered the fleet table ({len(rows)} rows); screenshot: {screenshot}")


def main(argv: list[str] | None = None) -> int:
    """Run the demo; with `--keep-running`, stay up until Ctrl-C."""
    parser = argparse.ArgumentParser(prog="python -m deployments.demo", description=__doc__)
    parser.add_argument("--port", type=int, default=DEFAULT_PORT, help="Prefect server port")
    parser.add_argument(
        "--keep-running", action="store_true", help="keep simulator, server and serve up"
    )
    parser.add_argument(
        "--screenshot",
        type=Path,
        default=None,
        help="open the novita-fleet artifact in headless chromium and save a PNG here "
        "(the rendered table rows go to the same path with .json)",
    )
    args = parser.parse_args(argv)
    DEMO_DIR.mkdir(parents=True, exist_ok=True)
    for stale in ("state.db", "state.db-wal", "state.db-shm"):
        (DEMO_DIR / stale).unlink(missing_ok=True)  # a fresh simulator means a fresh fleet
    env = os.environ | prefect_env(args.port)
    os.environ.update(prefect_env(args.port))
    server = serving = None
    with SimulatorServer(speed=SIMULATOR_SPEED) as sim:
        say(f"simulator: {sim.base_url} (speed x{SIMULATOR_SPEED:g})")
        try:
            say(f"starting a local Prefect server on port {args.port} (about 15 s)...")
            server = start_prefect_server(args.port, env)
            serving = start_serving(env | {"NOVITA_API_BASE_URL": sim.base_url})
            asyncio.run(story(sim, args.port))
            if args.screenshot:
                shoot_fleet_table(args.port, args.screenshot)
            if args.keep_running:
                say("everything stays up; Ctrl-C to stop")
                try:
                    while True:
                        time.sleep(3600)
                except KeyboardInterrupt:
                    pass
        finally:
            stop(serving)
            stop(server)
    say("demo complete")
    return 0


if __name__ == "__main__":
    sys.exit(main())
