"""The request log, reset, the clock controls, the async handle and the CLI."""

from __future__ import annotations

import os
import subprocess
import sys
import time

import httpx
import pytest

from simulator.server import SimulatorServer
from tests.simulator.sim_helpers import create, create_body, get

pytestmark = pytest.mark.integration  # starts the simulator or a Prefect server


def test_request_log_records_api_calls_and_clears(
    api: httpx.Client, sim: SimulatorServer, admin: httpx.Client, web: httpx.Client
) -> None:
    api.get("/products", params={"productName": "RTX 4090"})
    create(api, name="logged")
    web.get(f"{sim.base_url}/clusters")  # no key: logged with its 401
    entries = admin.get("/requests").json()["requests"]
    assert [(e["method"], e["path"], e["status"]) for e in entries] == [
        ("GET", "/products", 200),
        ("POST", "/gpu/instance/create", 200),
        ("GET", "/clusters", 401),
    ]
    assert entries[0]["query"] == {"productName": "RTX 4090"}
    assert entries[1]["body"]["name"] == "logged"
    assert sim.requests(path="/gpu/instance/create", method="post")[0]["body"]["gpuNum"] == 1
    assert admin.delete("/requests").status_code == 200
    assert sim.requests() == []


def test_no_create_reached_the_simulator(api: httpx.Client, sim: SimulatorServer) -> None:
    api.post("/gpu/instance/create", json=create_body(gpuNum=9))
    assert [e["status"] for e in sim.requests(path="/gpu/instance/create")] == [400]
    sim.clear_requests()
    api.get("/clusters")
    assert sim.requests(path="/gpu/instance/create") == []


def test_reset_returns_to_the_seed(
    api: httpx.Client, sim: SimulatorServer, admin: httpx.Client
) -> None:
    instance_id = create(api)
    sim.set_product_availability("as-sgp-2", False, product_id="rtx4090-24g.as-sgp-2")
    sim.fail_requests(3, path="/jobs")
    assert admin.post("/reset", json={}).status_code == 200
    state = admin.get("/state").json()
    assert state["instances"] == 0
    assert state["faults"]["failNext"]["count"] == 0
    assert api.get("/jobs").status_code == 200
    assert api.get("/gpu/instance", params={"instanceId": instance_id}).status_code == 400
    products = api.get("/products", params={"clusterId": "as-sgp-2"}).json()["data"]
    assert all(p["availableDeploy"] for p in products)


def test_clock_over_admin(admin: httpx.Client, api: httpx.Client, sim: SimulatorServer) -> None:
    before = admin.get("/clock").json()
    assert before["frozen"] is True
    instance_id = create(api)
    after = admin.post("/clock", json={"advance": 6}).json()
    assert after["now"] == before["now"] + 6
    assert get(api, instance_id)["status"] == "running"


def test_speed_runs_the_clock_without_stepping(api: httpx.Client, sim: SimulatorServer) -> None:
    instance_id = create(api)
    sim.set_speed(200)  # 6 simulated seconds in 30 ms
    sim.unfreeze()
    try:
        deadline = time.monotonic() + 3
        while get(api, instance_id)["status"] != "running" and time.monotonic() < deadline:
            time.sleep(0.02)
        assert get(api, instance_id)["status"] == "running"
    finally:
        sim.freeze()
        sim.set_speed(1)


async def test_async_handle() -> None:
    async with SimulatorServer(frozen=True, seed=3) as server:
        headers = {"Authorization": f"Bearer {server.api_key}"}
        async with httpx.AsyncClient(base_url=server.base_url, headers=headers) as client:
            response = await client.get("/clusters")
    assert response.status_code == 200
    assert server.root_url.startswith("http://127.0.0.1:")


def test_cli_prints_the_base_url_but_never_a_custom_key() -> None:
    env = {**os.environ, "NOVITA_SIMULATOR_API_KEY": "sk_custom_cli_test_key"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "simulator", "--port", "0", "--log-level", "warning"],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        env=env,
        text=True,
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        base_url = line.split("base URL ", 1)[1].split(" ", 1)[0]
        assert base_url.endswith("/gpu-instance/openapi/v1")
        assert "sk_custom_cli_test_key" not in line
        response = httpx.get(
            f"{base_url}/clusters",
            headers={"Authorization": "Bearer sk_custom_cli_test_key"},
            timeout=5,
        )
        assert response.status_code == 200
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def test_ids_are_deterministic_for_a_seed_and_never_repeat_after_reset() -> None:
    from simulator.state import SimulatorState

    body = create_body()
    first, second = SimulatorState(seed=7, frozen=True), SimulatorState(seed=7, frozen=True)
    assert first.create_instance(body) == second.create_instance(body)
    before = first.create_instance(body)
    first.reset()
    assert first.create_instance(body) != before
    unseeded = SimulatorState(frozen=True), SimulatorState(frozen=True)
    assert unseeded[0].create_instance(body) != unseeded[1].create_instance(body)
