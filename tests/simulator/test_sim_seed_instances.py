"""Seeding a big fleet at once: instances already running or exited, ordinary from then on."""

from __future__ import annotations

import time

import httpx
import pytest

from simulator.server import SimulatorServer
from simulator.state import SimulatorState
from tests.simulator.sim_helpers import get


def test_ten_thousand_instances_seed_in_well_under_a_second() -> None:
    state = SimulatorState(frozen=True)
    started = time.perf_counter()
    seeded = state.seed_instances(10_000, name_prefix="fleet")
    assert time.perf_counter() - started < 2.0
    assert len({s["id"] for s in seeded}) == 10_000
    assert seeded[-1]["name"] == "fleet-09999"
    first_page = state.list_instances(page_size=100, page_num=1)
    assert first_page["total"] == 10_000
    assert first_page["instances"][0]["name"] == "fleet-09999"  # newest first
    last_page = state.list_instances(page_size=100, page_num=100)
    assert last_page["instances"][-1]["name"] == "fleet-00000"


def test_seeded_running_instance_serves_and_can_be_stopped() -> None:
    state = SimulatorState(frozen=True)
    [one] = state.seed_instances(1, billing_mode="spot", first_index=7)
    data = state.get_instance(one["id"])
    assert one["name"] == "seeded-00007"
    assert (data["status"], data["billingMode"], data["spotStatus"]) == (
        "running",
        "spot",
        "running",
    )
    assert [m["port"] for m in data["portMappings"]] == [8888, 7860, 22]
    assert state.endpoint_state(one["id"], "8888") == ("up", 0.0)
    state.stop(one["id"])
    state.clock.advance(3)
    assert state.get_instance(one["id"])["status"] == "exited"


def test_seeded_reclaimed_instance_looks_reclaimed_and_can_migrate() -> None:
    state = SimulatorState(frozen=True)
    [one] = state.seed_instances(1, status="exited", billing_mode="spot", reclaimed=True)
    data = state.get_instance(one["id"])
    assert (data["status"], data["spotStatus"]) == ("exited", "terminated")
    assert data["spotReclaimTime"] != "0"
    assert data["lastStoppedAt"] != "0"
    state.migrate(one["id"])
    state.clock.advance(8)
    assert state.get_instance(one["id"])["status"] == "running"


@pytest.mark.parametrize(
    ("options", "problem"),
    [
        ({"status": "creating"}, "running or exited"),
        ({"reclaimed": True, "status": "exited"}, "spot"),
        ({"product_id": "nope"}, "no such product"),
        ({"product_id": "l40s-48g.us-ca-6", "billing_mode": "spot"}, "does not offer"),
        ({"ports": "99999/http"}, "ports"),
    ],
)
def test_bad_seed_options_are_refused(options: dict, problem: str) -> None:
    with pytest.raises(ValueError, match=problem):
        SimulatorState(frozen=True).seed_instances(1, **options)


def test_seed_over_admin(api: httpx.Client, admin: httpx.Client, sim: SimulatorServer) -> None:
    response = admin.post(
        "/instances/seed",
        json={
            "count": 250,
            "namePrefix": "bench",
            "status": "exited",
            "billingMode": "spot",
            "reclaimed": True,
        },
    )
    assert response.status_code == 200, response.text
    seeded = response.json()["instances"]
    assert len(seeded) == 250
    assert get(api, seeded[0]["id"])["spotStatus"] == "terminated"
    assert sim.snapshot()["instances"] == 250
    refused = admin.post("/instances/seed", json={"count": 1, "status": "toCreate"})
    assert refused.status_code == 400
    refused = admin.post("/instances/seed", json={"count": 1, "productId": "nope"})
    assert refused.status_code == 400
    assert "no such product" in refused.json()["message"]
