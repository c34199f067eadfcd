"""Spot reclaims, migrations and their instanceMigrate jobs."""

from __future__ import annotations

import httpx

from simulator.server import SimulatorServer
from tests.simulator.sim_helpers import create, get, running_instance


def migrate_jobs(api: httpx.Client, **params: str) -> dict:
    return api.get("/jobs", params={"type": "instanceMigrate", **params}).json()


def test_spot_reclaim_notifies_then_reclaims_then_exits(
    api: httpx.Client, sim: SimulatorServer
) -> None:
    instance_id = running_instance(api, sim, billingMode="spot")
    now = int(sim.clock_state()["now"])
    notified = sim.reclaim_spot(instance_id, notice_seconds=20)
    assert notified["spotStatus"] == "notified"
    assert notified["status"] == "running"
    assert int(notified["spotReclaimTime"]) == now + 20

    sim.advance(19)
    assert get(api, instance_id)["spotStatus"] == "notified"
    sim.advance(1)
    reclaiming = get(api, instance_id)
    assert (reclaiming["spotStatus"], reclaiming["status"]) == ("reclaiming", "stopping")
    sim.advance(2)
    reclaimed = get(api, instance_id)
    assert reclaimed["status"] == "exited"
    assert reclaimed["spotStatus"] == "terminated"
    assert reclaimed["spotReclaimTime"] != "0"
    assert reclaimed["billingMode"] == "spot"
    assert reclaimed["lastStoppedAt"] != "0"


def test_immediate_reclaim_over_admin(
    api: httpx.Client, sim: SimulatorServer, admin: httpx.Client
) -> None:
    instance_id = running_instance(api, sim, billingMode="spot")
    response = admin.post(f"/instances/{instance_id}/reclaim", json={"immediate": True})
    assert response.status_code == 200
    data = get(api, instance_id)
    assert (data["status"], data["spotStatus"]) == ("exited", "terminated")
    # A start gives the spot instance a fresh lease.
    api.post("/gpu/instance/start", json={"instanceId": instance_id})
    sim.advance(5)
    data = get(api, instance_id)
    assert (data["status"], data["spotStatus"], data["spotReclaimTime"]) == (
        "running",
        "running",
        "0",
    )


def test_only_running_spot_instances_can_be_reclaimed(
    api: httpx.Client, sim: SimulatorServer, admin: httpx.Client
) -> None:
    on_demand = running_instance(api, sim)
    assert admin.post(f"/instances/{on_demand}/reclaim").status_code == 400
    unknown = admin.post("/instances/0123456789abcdef/reclaim")
    assert unknown.status_code == 400
    assert unknown.json()["reason"] == "RESOURCE_NOT_FOUND"


def test_migrate_of_a_reclaimed_instance_succeeds_with_a_job(
    api: httpx.Client, sim: SimulatorServer
) -> None:
    instance_id = running_instance(api, sim, billingMode="spot")
    sim.reclaim_spot(instance_id, immediate=True)

    assert api.post("/gpu/instance/migrate", json={"instanceId": instance_id}).json() == {}
    assert get(api, instance_id)["status"] == "migrating"
    jobs = migrate_jobs(api)
    assert jobs["total"] == 1
    job = jobs["jobs"][0]
    assert job["instanceId"] == instance_id
    assert job["type"] == "instanceMigrate"
    assert job["state"]["state"] == "running"
    assert set(job) >= {"Id", "user", "createdAt", "envs", "logAddress"}

    sim.advance(8)
    data = get(api, instance_id)
    assert data["status"] == "running"
    assert (data["spotStatus"], data["spotReclaimTime"]) == ("running", "0")
    assert migrate_jobs(api)["jobs"][0]["state"] == {"state": "success", "error": "", "message": ""}
    assert migrate_jobs(api, state="success")["total"] == 1
    assert migrate_jobs(api, state="fail")["total"] == 0


def test_migrate_job_fails_when_told(api: httpx.Client, sim: SimulatorServer) -> None:
    instance_id = running_instance(api, sim)
    sim.fail_migrations("job", instance_id=instance_id)
    assert api.post("/gpu/instance/migrate", json={"instanceId": instance_id}).status_code == 200
    sim.advance(8)
    data = get(api, instance_id)
    assert data["status"] == "exited"
    assert data["statusError"]["message"]
    job = migrate_jobs(api, state="fail")["jobs"][0]
    assert job["state"]["state"] == "fail"
    assert job["state"]["error"] == "MIGRATE_INSUFFICIENT_RESOURCE"


def test_migrate_call_fails_when_told_globally(
    api: httpx.Client, sim: SimulatorServer, admin: httpx.Client
) -> None:
    instance_id = running_instance(api, sim)
    admin.post("/migrate-failure", json={"mode": "error"})
    response = api.post("/gpu/instance/migrate", json={"instanceId": instance_id})
    assert response.status_code == 400
    assert response.json()["reason"] == "MIGRATE_INSUFFICIENT_RESOURCE"
    assert get(api, instance_id)["status"] == "running"
    assert migrate_jobs(api)["total"] == 0
    # A per-instance setting overrides the global one.
    admin.post("/migrate-failure", json={"mode": "none", "instanceId": instance_id})
    assert api.post("/gpu/instance/migrate", json={"instanceId": instance_id}).status_code == 200


def test_deleting_a_migrating_instance_fails_its_job(
    api: httpx.Client, sim: SimulatorServer
) -> None:
    instance_id = create(api)
    sim.advance(6)
    api.post("/gpu/instance/migrate", json={"instanceId": instance_id})
    api.post("/gpu/instance/delete", json={"instanceId": instance_id})
    assert migrate_jobs(api)["jobs"][0]["state"]["state"] == "fail"


def test_stop_during_the_notice_cancels_the_reclaim(
    api: httpx.Client, sim: SimulatorServer
) -> None:
    instance_id = running_instance(api, sim, billingMode="spot")
    sim.reclaim_spot(instance_id, notice_seconds=5)
    api.post("/gpu/instance/stop", json={"instanceId": instance_id})
    sim.advance(30)
    data = get(api, instance_id)
    assert (data["status"], data["spotStatus"], data["spotReclaimTime"]) == (
        "exited",
        "running",
        "0",
    )
