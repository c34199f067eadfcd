"""Helpers of the simulator tests: a valid create body, create/get shortcuts."""

from __future__ import annotations

from typing import Any

import httpx

from simulator.server import SimulatorServer


def create_body(**overrides: Any) -> dict[str, Any]:
    """A valid create body (RTX 4090 24GB in as-sgp-2, Jupyter + SSH), with overrides."""
    body: dict[str, Any] = {
        "kind": "gpu",
        "name": "sim-test",
        "productId": "rtx4090-24g.as-sgp-2",
        "clusterId": "as-sgp-2",
        "gpuNum": 1,
        "rootfsSize": 60,
        "imageUrl": "novitalabs/pytorch:2.4.0-cuda12.4",
        "ports": "8888/http,22/tcp",
    }
    body.update(overrides)
    return {k: v for k, v in body.items() if v is not None}


def create(api: httpx.Client, **overrides: Any) -> str:
    """Create an instance and return its id (asserting success)."""
    response = api.post("/gpu/instance/create", json=create_body(**overrides))
    assert response.status_code == 200, response.text
    return response.json()["id"]


def get(api: httpx.Client, instance_id: str) -> dict[str, Any]:
    """GET one instance (asserting success)."""
    response = api.get("/gpu/instance", params={"instanceId": instance_id})
    assert response.status_code == 200, response.text
    return response.json()


def running_instance(api: httpx.Client, sim: SimulatorServer, **overrides: Any) -> str:
    """Create an instance and step the clock until its application is up."""
    instance_id = create(api, **overrides)
    sim.advance(9)
    assert get(api, instance_id)["status"] == "running"
    return instance_id
