"""Fault controls, through the in-process handle and the admin HTTP routes."""

from __future__ import annotations

import time

import httpx
import pytest

from simulator.server import SimulatorServer
from tests.simulator.sim_helpers import create, create_body, get, running_instance


def test_next_requests_fail_with_503_limited_to_a_path(
    api: httpx.Client, sim: SimulatorServer
) -> None:
    sim.fail_requests(2, status=503, path="/products")
    assert api.get("/clusters").status_code == 200
    first, second, third = (api.get("/products").status_code for _ in range(3))
    assert (first, second, third) == (503, 503, 200)


def test_failed_request_body_is_the_envelope(api: httpx.Client, admin: httpx.Client) -> None:
    assert admin.post("/faults/errors", json={"count": 1, "status": 500}).status_code == 200
    response = api.get("/clusters")
    assert response.status_code == 500
    assert response.json()["code"] == 500
    assert response.json()["reason"] == "UNKNOWN"


def test_error_rate_is_deterministic_for_a_seed(api: httpx.Client, sim: SimulatorServer) -> None:
    def run() -> list[int]:
        sim.set_error_rate(0.5, status=502, seed=42, path="/clusters")
        return [api.get("/clusters").status_code for _ in range(12)]

    first, second = run(), run()
    assert first == second
    assert set(first) == {200, 502}
    sim.set_error_rate(0)
    assert api.get("/clusters").status_code == 200


def test_rate_limit_answers_429_with_retry_after(api: httpx.Client, admin: httpx.Client) -> None:
    admin.post("/faults/rate-limit", json={"count": 1, "retryAfter": 3})
    limited = api.get("/clusters")
    assert limited.status_code == 429
    assert limited.headers["Retry-After"] == "3"
    assert limited.json()["reason"] == "RATE_LIMIT_EXCEEDED"
    assert api.get("/clusters").status_code == 200


def test_hanging_request_times_the_client_out_and_is_still_processed(
    api: httpx.Client, sim: SimulatorServer
) -> None:
    sim.hang_requests(1, seconds=0.6, path="/gpu/instance/create")
    with pytest.raises(httpx.ReadTimeout):
        api.post("/gpu/instance/create", json=create_body(), timeout=0.2)
    # Like the live cloud: the create goes through although the client gave up.
    deadline = time.monotonic() + 3
    while sim.snapshot()["instances"] == 0 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert api.get("/gpu/instances").json()["total"] == 1
    started = time.monotonic()
    assert api.get("/clusters").status_code == 200
    assert time.monotonic() - started < 0.5


def test_latency_delays_matching_requests(api: httpx.Client, admin: httpx.Client) -> None:
    admin.post("/faults/latency", json={"ms": 250, "path": "/products"})
    started = time.monotonic()
    api.get("/products")
    slow = time.monotonic() - started
    started = time.monotonic()
    api.get("/clusters")
    fast = time.monotonic() - started
    assert slow >= 0.25
    assert fast < 0.2


def test_clear_faults(api: httpx.Client, sim: SimulatorServer, admin: httpx.Client) -> None:
    sim.fail_requests(5)
    sim.set_capacity("as-sgp-2")
    assert admin.post("/faults/clear").status_code == 200
    assert api.get("/clusters").status_code == 200
    create(api)


def test_exhausted_capacity_fails_create_and_start_in_that_cluster(
    api: httpx.Client, sim: SimulatorServer, admin: httpx.Client
) -> None:
    instance_id = running_instance(api, sim)
    api.post("/gpu/instance/stop", json={"instanceId": instance_id})
    sim.advance(3)
    admin.post("/capacity", json={"clusterId": "as-sgp-2", "exhausted": True})

    refused = api.post("/gpu/instance/create", json=create_body())
    assert refused.status_code == 400
    assert refused.json()["reason"] == "INSUFFICIENT_RESOURCE"
    no_start = api.post("/gpu/instance/start", json={"instanceId": instance_id})
    assert no_start.status_code == 400
    assert no_start.json()["reason"] == "INSUFFICIENT_RESOURCE"
    # The listing still says deployable: capacity ran out between listing and create.
    products = api.get("/products", params={"clusterId": "as-sgp-2"}).json()["data"]
    assert next(p for p in products if p["id"] == "rtx4090-24g.as-sgp-2")["availableDeploy"]
    # Other clusters are fine.
    create(api, productId="rtx4090-24g.us-ca-6", clusterId="us-ca-6")

    admin.post("/capacity", json={"clusterId": "as-sgp-2", "exhausted": False})
    assert api.post("/gpu/instance/start", json={"instanceId": instance_id}).status_code == 200


def test_product_availability_control(api: httpx.Client, admin: httpx.Client) -> None:
    changed = admin.post(
        "/products/availability",
        json={"clusterId": "as-sgp-2", "productName": "RTX 4090 24GB", "available": False},
    )
    assert changed.json()["products"] == ["rtx4090-24g.as-sgp-2"]
    products = api.get("/products", params={"clusterId": "as-sgp-2"}).json()["data"]
    assert (
        next(p for p in products if p["id"] == "rtx4090-24g.as-sgp-2")["availableDeploy"] is False
    )
    refused = api.post("/gpu/instance/create", json=create_body())
    assert refused.json()["reason"] == "INSUFFICIENT_RESOURCE"
    revived = admin.post(
        "/products/availability",
        json={
            "clusterId": "cn-hongkong-1",
            "productId": "rtx4090-24g.cn-hongkong-1",
            "available": True,
        },
    )
    assert revived.status_code == 200
    create(api, productId="rtx4090-24g.cn-hongkong-1", clusterId="cn-hongkong-1")
    unknown = admin.post(
        "/products/availability",
        json={"clusterId": "eu-west-1", "productName": "RTX 4090 24GB", "available": True},
    )
    assert unknown.status_code == 400


@pytest.mark.parametrize(("mode", "code"), [("503", 503), ("500", 500), ("502", 502)])
def test_app_health_forces_the_endpoint_answer(
    api: httpx.Client,
    sim: SimulatorServer,
    admin: httpx.Client,
    mode: str,
    code: int,
    web: httpx.Client,
) -> None:
    instance_id = running_instance(api, sim)
    endpoint = get(api, instance_id)["portMappings"][0]["endpoint"]
    assert web.get(endpoint).status_code == 200
    admin.post(f"/instances/{instance_id}/app-health", json={"mode": mode})
    assert web.get(endpoint).status_code == code
    sim.set_app_health(instance_id, "ok")
    assert web.get(endpoint).status_code == 200


def test_app_health_hang_times_the_prober_out(
    api: httpx.Client, sim: SimulatorServer, web: httpx.Client
) -> None:
    instance_id = running_instance(api, sim)
    endpoint = get(api, instance_id)["portMappings"][0]["endpoint"]
    sim.set_app_health(instance_id, "hang", hang_seconds=0.5)
    with pytest.raises(httpx.ReadTimeout):
        web.get(endpoint, timeout=0.15)


def test_admin_rejects_bad_values(admin: httpx.Client) -> None:
    assert admin.post("/faults/errors", json={"count": 1, "status": 404}).status_code == 400
    assert admin.post("/faults/errors", json={}).status_code == 400
    assert admin.post("/clock", json={"speed": 0}).status_code == 400
