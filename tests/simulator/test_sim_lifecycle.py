"""The status graph on a stepped clock, illegal transitions, delete/404, list pagination."""

from __future__ import annotations

import httpx
import pytest

from simulator.server import SimulatorServer
from tests.simulator.sim_helpers import create, get, running_instance


def status(api: httpx.Client, instance_id: str) -> str:
    return get(api, instance_id)["status"]


def test_create_walks_to_create_creating_pulling_running(
    api: httpx.Client, sim: SimulatorServer
) -> None:
    instance_id = create(api)
    seen = [status(api, instance_id)]
    for step in (1, 2, 3):
        sim.advance(step)
        seen.append(status(api, instance_id))
    assert seen == ["toCreate", "creating", "pulling", "running"]
    data = get(api, instance_id)
    assert int(data["lastStartedAt"]) == int(data["createdAt"]) + 6
    assert data["connectComponentSSH"]["isRunning"] is True


def test_stop_start_restart_walk_the_real_graph(api: httpx.Client, sim: SimulatorServer) -> None:
    instance_id = running_instance(api, sim)

    stopped = api.post("/gpu/instance/stop", json={"instanceId": instance_id})
    assert stopped.json() == {"instanceId": instance_id, "state": "toStop"}
    sim.advance(1)
    assert status(api, instance_id) == "stopping"
    sim.advance(2)
    data = get(api, instance_id)
    assert data["status"] == "exited"
    assert data["lastStoppedAt"] != "0"

    started = api.post("/gpu/instance/start", json={"instanceId": instance_id})
    assert started.json() == {"instanceId": instance_id, "state": "toStart"}
    walk = []
    for step in (1, 2, 2):
        sim.advance(step)
        walk.append(status(api, instance_id))
    assert walk == ["starting", "pulling", "running"]

    assert api.post("/gpu/instance/restart", json={"instanceId": instance_id}).json() == {}
    assert status(api, instance_id) == "toRestart"
    sim.advance(1)
    assert status(api, instance_id) == "restarting"
    sim.advance(2)
    assert status(api, instance_id) == "running"


@pytest.mark.parametrize("operation", ["start", "migrate"])
def test_illegal_transition_says_invalid_state_change(
    api: httpx.Client, sim: SimulatorServer, operation: str
) -> None:
    instance_id = create(api)  # toCreate: neither startable nor migratable
    response = api.post(f"/gpu/instance/{operation}", json={"instanceId": instance_id})
    assert response.status_code == 400
    assert "invalid state change" in response.json()["message"]
    assert response.json()["reason"] == "INVALID_STATE_CHANGE"


def test_stop_of_a_stopped_instance_is_an_invalid_state_change(
    api: httpx.Client, sim: SimulatorServer
) -> None:
    instance_id = running_instance(api, sim)
    api.post("/gpu/instance/stop", json={"instanceId": instance_id})
    sim.advance(3)
    for operation in ("stop", "restart"):
        response = api.post(f"/gpu/instance/{operation}", json={"instanceId": instance_id})
        assert response.status_code == 400
        assert "invalid state change" in response.json()["message"]


def test_mutation_without_instance_id_is_validator_param(api: httpx.Client) -> None:
    response = api.post("/gpu/instance/stop", json={})
    assert response.status_code == 400
    assert response.json()["reason"] == "VALIDATOR_PARAM"
    assert response.json()["message"].startswith("instanceId")


def test_unknown_instance_is_400_resource_not_found(api: httpx.Client) -> None:
    response = api.get("/gpu/instance", params={"instanceId": "0123456789abcdef"})
    assert response.status_code == 400
    assert response.json()["reason"] == "RESOURCE_NOT_FOUND"


def test_delete_removes_then_answers_404_after_the_grace_period(
    api: httpx.Client, sim: SimulatorServer
) -> None:
    instance_id = running_instance(api, sim)
    assert api.post("/gpu/instance/delete", json={"instanceId": instance_id}).json() == {}
    assert status(api, instance_id) == "toRemove"
    sim.advance(1)
    assert status(api, instance_id) == "removing"
    sim.advance(2)
    assert status(api, instance_id) == "removed"
    listed = api.get("/gpu/instances").json()
    assert [i["status"] for i in listed["instances"]] == ["removed"]
    # Deleting again while it is being removed is harmless.
    assert api.post("/gpu/instance/delete", json={"instanceId": instance_id}).status_code == 200

    sim.advance(10)
    gone = api.get("/gpu/instance", params={"instanceId": instance_id})
    assert gone.status_code == 404
    assert gone.json()["reason"] == "RESOURCE_NOT_FOUND"
    assert api.get("/gpu/instances").json() == {"instances": [], "total": 0}
    again = api.post("/gpu/instance/delete", json={"instanceId": instance_id})
    assert again.status_code == 404


def test_delete_works_from_any_state(api: httpx.Client, sim: SimulatorServer) -> None:
    instance_id = create(api)
    sim.advance(2)  # creating
    assert api.post("/gpu/instance/delete", json={"instanceId": instance_id}).status_code == 200
    sim.advance(10)  # the create schedule must not bring it back to running
    assert status(api, instance_id) == "removed"


def test_monthly_instances_cannot_be_released(api: httpx.Client) -> None:
    instance_id = create(api, billingMode="monthly")
    assert get(api, instance_id)["endTime"] != "-1"
    response = api.post("/gpu/instance/delete", json={"instanceId": instance_id})
    assert response.status_code == 400
    assert response.json()["reason"] == "PREPAID_INSTANCE_NOT_SUPPORT_RELEASE"


def test_list_pagination_page_zero_and_one_are_the_first_page(
    api: httpx.Client, sim: SimulatorServer
) -> None:
    ids = [create(api, name=f"worker-{i:02d}") for i in range(12)]
    page0 = api.get("/gpu/instances", params={"pageSize": 5, "pageNum": 0}).json()
    page1 = api.get("/gpu/instances", params={"pageSize": 5, "pageNum": 1}).json()
    page3 = api.get("/gpu/instances", params={"pageSize": 5, "pageNum": 3}).json()
    assert page0 == page1
    assert page0["total"] == 12
    assert len(page0["instances"]) == 5
    assert [i["id"] for i in page3["instances"]] == ids[1::-1]  # newest first
    default = api.get("/gpu/instances").json()
    assert len(default["instances"]) == 10
    everything: list[str] = []
    for page_num in (1, 2, 3):
        page = api.get("/gpu/instances", params={"pageSize": 5, "pageNum": page_num}).json()
        everything += [i["id"] for i in page["instances"]]
    assert sorted(everything) == sorted(ids)


def test_list_filters(api: httpx.Client, sim: SimulatorServer) -> None:
    first = create(api, name="alpha-trainer")
    sim.advance(6)
    second = create(api, name="beta-trainer", productId="rtx4090d-24g.as-sgp-2")
    by_name = api.get("/gpu/instances", params={"name": "ALPHA"}).json()
    assert [i["id"] for i in by_name["instances"]] == [first]
    by_product = api.get("/gpu/instances", params={"productName": "4090D"}).json()
    assert [i["id"] for i in by_product["instances"]] == [second]
    by_status = api.get("/gpu/instances", params={"status": "running"}).json()
    assert (by_status["total"], by_status["instances"][0]["id"]) == (1, first)
    fuzzy = api.get("/gpu/instances", params={"productName": "rtx 4090"}).json()
    assert fuzzy["total"] == 2


def test_endpoint_answers_502_until_the_app_is_up_then_200(
    api: httpx.Client, sim: SimulatorServer, web: httpx.Client
) -> None:
    instance_id = create(api)
    endpoint = get(api, instance_id)["portMappings"][0]["endpoint"]
    assert endpoint == f"{sim.root_url}/_endpoints/{instance_id}/8888"
    booting = web.get(endpoint)
    assert booting.status_code == 502
    assert "Bad Gateway" in booting.text
    sim.advance(6)  # running, application still booting
    assert status(api, instance_id) == "running"
    assert web.get(endpoint).status_code == 502
    assert get(api, instance_id)["connectComponentJupyter"]["isRunning"] is False
    sim.advance(3)
    up = web.get(endpoint)
    assert up.status_code == 200
    assert "Bad Gateway" not in up.text
    assert get(api, instance_id)["connectComponentJupyter"]["isRunning"] is True

    api.post("/gpu/instance/stop", json={"instanceId": instance_id})
    assert web.get(endpoint).status_code == 502


def test_endpoint_of_unmapped_port_is_404(
    api: httpx.Client, sim: SimulatorServer, web: httpx.Client
) -> None:
    instance_id = running_instance(api, sim)
    assert web.get(f"{sim.root_url}/_endpoints/{instance_id}/9999").status_code == 404
    assert web.get(f"{sim.root_url}/_endpoints/{instance_id}/22").status_code == 404


def test_tcp_mapping_points_at_a_listener_that_accepts(
    api: httpx.Client, sim: SimulatorServer
) -> None:
    import socket

    instance_id = running_instance(api, sim)
    tcp = next(m for m in get(api, instance_id)["portMappings"] if m["type"] == "tcp")
    assert tcp["endpoint"] == sim.tcp_address
    host, _, port = tcp["endpoint"].rpartition(":")
    with socket.create_connection((host, int(port)), timeout=2) as conn:
        assert conn.recv(64).startswith(b"SSH-2.0-")
