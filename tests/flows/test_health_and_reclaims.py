"""novita-health, reclaim-watch and the reclaim trigger, served and run through the prefect CLI.

One served process (`python -m deployments.serve`) for the module, against the session's
Prefect test server (its event, trigger and action services run in the test harness too:
`prefect.server.events.services.*` are `RunInEphemeralServers`), a simulator of this module's
own (so it can be stopped and started again on the same port) and a state store of its own
(the session store holds other tests' leftovers, which the health checks would judge).
The test harness runs no scheduler: the tests play the schedule's tick themselves.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from simulator.server import SimulatorServer
from store import LifecycleStatus, StateStore

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
PREFECT = str(Path(sys.executable).with_name("prefect"))
RECLAIM_SPEED = 1.0
"""Simulated seconds per real second while a reclaim is answered: Novita's own pace, so the
2-minute budget covers watcher tick, event, trigger, runner pick-up and migrate call."""
SERVED = ("novita-health", "reclaim-watch", "migration-sweep")
SERVE = (
    "import asyncio, sys\n"
    "from prefect import aserve\n"
    "from deployments.serve import build_deployments\n"
    "wanted = set(sys.argv[1:])\n"
    "asyncio.run(aserve(*[d for d in build_deployments() if d.name in wanted]))\n"
)
"""`python -m deployments.serve`'s own deployments (triggers included), only the three used."""


class OwnSimulator:
    """A simulator on a fixed port that can be stopped (connections refused) and restarted."""

    def __init__(self) -> None:
        self.sim = SimulatorServer(speed=20).start()
        self.port = int(self.sim.root_url.rsplit(":", 1)[1])

    def stop(self) -> None:
        self.sim.stop()

    def restart(self) -> None:
        self.sim = SimulatorServer(speed=20, port=self.port).start()


@pytest.fixture(scope="module")
def novita(flow_env: None, tmp_path_factory: pytest.TempPathFactory) -> Iterator[OwnSimulator]:
    own = OwnSimulator()
    state_url = "sqlite+aiosqlite:///" + str(tmp_path_factory.mktemp("health") / "state.db")
    saved = {k: os.environ.get(k) for k in ("NOVITA_API_BASE_URL", "NOVITA_STATE_URL")}
    os.environ["NOVITA_API_BASE_URL"] = own.sim.base_url
    os.environ["NOVITA_STATE_URL"] = state_url
    try:
        yield own
    finally:
        own.stop()
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def api_url() -> str:
    from prefect.settings import get_current_settings

    return str(get_current_settings().api.url)


@pytest.fixture(scope="module")
def served(novita: OwnSimulator) -> Iterator[dict[str, str]]:
    """The deployments of `deployments.serve` against the test server, polling every second."""
    env = os.environ | {"PREFECT_API_URL": api_url(), "PREFECT_RUNNER_POLL_FREQUENCY": "1"}
    process = subprocess.Popen(
        [sys.executable, "-c", SERVE, *SERVED],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        asyncio.run(wait_for_deployments(process, *SERVED))
        yield env
    finally:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()


async def wait_for_deployments(process: subprocess.Popen[str], *names: str) -> None:
    from prefect.client.orchestration import get_client
    from prefect.exceptions import ObjectNotFound

    deadline = time.monotonic() + 120
    async with get_client() as client:
        for name in names:
            while True:
                assert process.poll() is None, process.stdout.read() if process.stdout else ""
                try:
                    deployment = await client.read_deployment_by_name(f"{name}/{name}")
                    if name != "migration-sweep":
                        break
                    # the trigger is created right after the deployment
                    owned = await client.read_resource_related_automations(
                        f"prefect.deployment.{deployment.id}"
                    )
                    if owned:
                        break
                except ObjectNotFound:
                    pass
                assert time.monotonic() < deadline, f"deployment {name} never appeared"
                await asyncio.sleep(0.5)


async def cli_run(deployment: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """`prefect deployment run <deployment> --watch`, as an operator types it."""
    return await asyncio.to_thread(
        subprocess.run,
        [PREFECT, "deployment", "run", deployment, "--watch", "--watch-timeout", "120"],
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
    )


async def flow_runs(flow_name: str, since: datetime) -> list[Any]:
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import FlowFilter, FlowFilterName

    async with get_client() as client:
        runs = await client.read_flow_runs(
            flow_filter=FlowFilter(name=FlowFilterName(any_=[flow_name]))
        )
    return [r for r in runs if r.created and r.created >= since]


async def health_artifact() -> str:
    from prefect.artifacts import Artifact

    artifact = await Artifact.aget("novita-health")
    assert artifact is not None
    return str(artifact.data)


# -- novita-health ------------------------------------------------------------------------


async def test_health_is_down_while_novita_refuses_connections_then_healthy(
    served: dict[str, str], novita: OwnSimulator
) -> None:
    from prefect.blocks.notifications import CustomWebhookNotificationBlock

    from deployments.automations import apply_automations
    from flows.novita_health import novita_health
    from flows.sweeps.migration.events import announce_failed_migrations
    from flows.sweeps.outcomes import InstanceError
    from tests.webhooks.receiver import start_receiver

    receiver, server = start_receiver()
    created: dict[str, Any] = {}
    try:
        block_name = f"ops-{uuid.uuid4().hex[:8]}"
        await CustomWebhookNotificationBlock(
            name="ops", url=receiver.url, json_data={"subject": "{{subject}}", "body": "{{body}}"}
        ).save(block_name)
        # automations as code: applied twice, still one of each
        await apply_automations(f"custom-webhook/{block_name}")
        created = await apply_automations(f"custom-webhook/{block_name}")
        from prefect.client.orchestration import get_client

        async with get_client() as client:
            for name in created:
                assert len(await client.read_automations_by_name(name)) == 1, name

        # what migration-sweep emits for an instance it could not bring back
        announce_failed_migrations(
            [InstanceError(instance_id="00000000000000aa", name="lost-1", error="no capacity")]
        )

        novita.stop()  # nothing listens on the port: connections are refused
        down = await cli_run("novita-health/novita-health", served)
        assert down.returncode == 1, down.stdout + down.stderr
        assert "Failed" in down.stdout
        text = await health_artifact()
        assert "**down**" in text and "| novita | down |" in text, text
        assert "Could not reach Novita" in text and "connection failed" in text, text
        novita.restart()  # the same port: Novita answers again
        await run_every_sweep_once()  # healthy also means the sweeps succeed on time
        verdict = await novita_health()
        assert verdict.verdict == "healthy", verdict.summary()
        text = await health_artifact()
        assert "**healthy**" in text and "| novita | healthy |" in text, text

        # the down verdict's `novita.health.degraded` and the failed migration reached the
        # notification block through their automations
        for expected in (b"Novita health: down", b"Novita: migration of lost-1 failed"):
            for _ in range(100):
                if any(expected in r.body for r in receiver.requests):
                    break
                await asyncio.sleep(0.2)
            else:
                raise AssertionError(f"no {expected!r}: {[r.body for r in receiver.requests]}")
    finally:
        server.shutdown()
        server.server_close()
        await delete_automations(created)


async def delete_automations(names: Iterable[str]) -> None:
    """Later tests fail provisionings on purpose: no notification to a receiver that is gone."""
    from prefect.client.orchestration import get_client

    async with get_client() as client:
        for name in names:
            for automation in await client.read_automations_by_name(name):
                await client.delete_automation(automation.id)


async def run_every_sweep_once() -> None:
    from flows.auto_stop_sweep import auto_stop_sweep
    from flows.fleet_sync import fleet_sync
    from flows.migration_sweep import migration_sweep
    from flows.reclaim_watch import reclaim_watch

    await asyncio.gather(auto_stop_sweep(), migration_sweep(), fleet_sync(), reclaim_watch())


# -- reclaims answered in minutes ---------------------------------------------------------


async def test_reclaim_runs_migration_sweep_through_the_trigger_within_two_minutes(
    served: dict[str, str], novita: OwnSimulator
) -> None:
    from clients.novita import InstanceStatus, NovitaClient
    from flows.provision import provision_instance

    sim = novita.sim
    name = f"reclaim-{uuid.uuid4().hex[:8]}"
    result = await provision_instance(name=name, product_name="RTX 4090 24GB", template_id="1001")
    iid = result.instance_id
    assert iid
    since = datetime.now(UTC)

    sim.set_speed(RECLAIM_SPEED)
    sim.reclaim_spot(iid, immediate=True)
    reclaimed_at = float(sim.clock_state()["now"])
    async with NovitaClient(api_key=sim.api_key, base_url=sim.base_url) as client:
        assert (await client.get_instance(iid)).status == InstanceStatus.EXITED

    # the watcher's next tick (every minute in prefect.yaml; here at once)
    watch = await cli_run("reclaim-watch/reclaim-watch", served)
    assert watch.returncode == 0, watch.stdout + watch.stderr

    migrate_calls = await wait_for_migrate_call(sim)
    sim.set_speed(20)  # measured: the rest of the migration may go fast
    sweep = await wait_for_triggered_sweep(since, iid)
    assert [c["body"]["instanceId"] for c in migrate_calls] == [iid]
    seconds = float(migrate_calls[0]["at"]) - reclaimed_at
    print(f"\nreclaim -> migrate call: {seconds:.1f} simulated s at speed {RECLAIM_SPEED}")
    assert 0 < seconds <= 120, seconds

    # started by the trigger (an automation), for that instance, not by the schedule
    assert sweep.created_by is not None and sweep.created_by.type == "AUTOMATION"
    assert sweep.parameters["instance_ids"] == [iid]
    assert [r.id for r in await flow_runs("migration-sweep", since)] == [sweep.id]
    async with StateStore() as store:
        record = await store.get_instance(iid)
    assert record is not None and record.status == LifecycleStatus.READY


async def wait_for_migrate_call(sim: SimulatorServer) -> list[dict[str, Any]]:
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if calls := sim.requests(path="/gpu/instance/migrate"):
            return calls
        await asyncio.sleep(0.2)
    raise AssertionError("no migrate call")


async def wait_for_triggered_sweep(since: datetime, iid: str) -> Any:
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        for run in await flow_runs("migration-sweep", since):
            if run.state is not None and run.state.is_final():
                assert run.state.is_completed(), run.state
                return run
        await asyncio.sleep(0.5)
    raise AssertionError(f"no migration-sweep run for {iid}")


async def test_served_schedules_and_the_trigger(served: dict[str, str]) -> None:
    from prefect.client.orchestration import get_client

    async with get_client() as client:
        for name, seconds in {"novita-health": 300, "reclaim-watch": 60}.items():
            deployment = await client.read_deployment_by_name(f"{name}/{name}")
            intervals = [s.schedule.interval.total_seconds() for s in deployment.schedules]
            assert intervals == [seconds], (name, deployment.schedules)
            assert deployment.global_concurrency_limit is not None
            assert deployment.global_concurrency_limit.limit == 1
            assert str(deployment.concurrency_options.collision_strategy).endswith("CANCEL_NEW")
        sweep = await client.read_deployment_by_name("migration-sweep/migration-sweep")
        [automation] = await client.read_resource_related_automations(
            f"prefect.deployment.{sweep.id}"
        )
    assert automation.name == "migrate-reclaimed-instance"
    assert automation.trigger.expect == {"novita.instance.reclaimed"}
    [action] = automation.actions
    assert action.parameters == {"instance_ids": ["{{ event.payload.instance_id }}"]}
