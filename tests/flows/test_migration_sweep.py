"""migration-sweep: rules in memory, then the flow against the simulator (spot reclaims, failing
migrations), a Prefect test server and a real webhook receiver."""

from __future__ import annotations

import asyncio
import json
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from prefect.exceptions import ParameterTypeError

from clients.novita import Instance, InstanceStatus, NovitaClient
from clients.webhook_signature import verify_webhook_signature
from flows.lifecycle import stop_instance_flow
from flows.migration_sweep import REPORT_KEY, migration_sweep
from flows.provision import provision_instance
from flows.sweeps.migration.rules import plan_migrations
from simulator.server import SimulatorServer
from store import DesiredState, LifecycleStatus, ManagedInstance, OperationKind, StateStore
from tests.flows.conftest import WEBHOOK_SECRET
from tests.webhooks.receiver import Receiver

MIGRATE = "/gpu/instance/migrate"
CREATE = "/gpu/instance/create"
DELETE = "/gpu/instance/delete"
NOW = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


async def provision(name: str, receiver: Receiver | None = None) -> str:
    """A ready spot instance; with the default region order it lands in AS-SGP-02."""
    result = await provision_instance(
        name=name,
        product_name="RTX 4090 24GB",
        template_id="1001",
        webhook_url=receiver.url if receiver else None,
    )
    assert result.instance_id and result.region == "AS-SGP-02"
    return result.instance_id


async def reclaim(sim: SimulatorServer, iid: str) -> None:
    """Reclaim a spot instance now and wait until Novita reports it exited."""
    sim.reclaim_spot(iid, immediate=True)
    async with NovitaClient(api_key=sim.api_key, base_url=sim.base_url) as client:
        for _ in range(100):
            if (await client.get_instance(iid)).status == InstanceStatus.EXITED:
                return
            await asyncio.sleep(0.05)
    raise AssertionError(f"{iid} was not reclaimed")


def calls(sim: SimulatorServer, path: str) -> list[str]:
    return [r["body"]["instanceId"] for r in sim.requests(path=path)]


def signed_events(receiver: Receiver, since: int = 0) -> list[dict[str, Any]]:
    found = []
    for request in receiver.requests[since:]:
        signature = request.headers["X-Webhook-Signature"]
        assert verify_webhook_signature(WEBHOOK_SECRET, request.body, signature)
        found.append(json.loads(request.body))
    return found


async def outcomes(store: StateStore, iid: str) -> list[str]:
    ops = await store.list_operations(iid, kind=OperationKind.MIGRATION)
    return [str(o.outcome) for o in reversed(ops)]


# -- rules, in memory (no server) ---------------------------------------------------------


def test_rules_pick_reclaimed_instances_within_limits() -> None:
    ids = [f"{i:016x}" for i in range(7)]

    def rec(iid: str, **fields: Any) -> ManagedInstance:
        base: dict[str, Any] = {"status": "ready", "billing_mode": "spot"}
        return ManagedInstance(instance_id=iid, name=f"n-{iid[-1]}", **(base | fields))

    records = [
        rec(ids[0]),  # reclaimed: migrate
        rec(ids[1], desired_state="stopped"),  # a user stopped it
        rec(ids[2], billing_mode="onDemand"),  # exited, nothing says reclaimed
        rec(ids[3], last_migration_at=NOW - timedelta(minutes=10)),  # cool-down
        rec(ids[4], migration_attempts=3, last_migration_at=NOW - timedelta(hours=5)),
        rec(ids[5], status="starting"),  # a start owns it
        rec(ids[6], billing_mode="onDemand"),  # still running at Novita
    ]
    live = [
        Instance(id=ids[0], status="exited", cluster_name="AS-SGP-02", cluster_id="as-sgp-2"),
        Instance(id=ids[1], status="exited", billing_mode="spot"),
        Instance(id=ids[2], status="exited"),
        Instance(id=ids[3], status="exited", spot_status="terminated"),
        Instance(id=ids[4], status="exited"),
        Instance(id=ids[5], status="exited"),
        Instance(id=ids[6], status="running"),
    ]
    plan = plan_migrations(records, live, NOW, 30, 3, max_migrations=10)
    assert plan.exited == 6
    assert [(c.instance_id, c.cluster_id) for c in plan.eligible] == [(ids[0], "as-sgp-2")]
    why = {s.instance_id: s.reason for s in plan.skipped}
    assert "never migrated" in why[ids[1]]
    assert "not reclaimed" in why[ids[2]]
    assert why[ids[3]] == "cool-down: last attempt 10 min ago (cool-down 30 min)"
    assert why[ids[4]] == "gave up: 3 migration attempt(s), max 3"
    assert "starting" in why[ids[5]]
    capped = plan_migrations(records, live, NOW, 0, 5, max_migrations=1)
    # without cool-down, the never-tried one goes first; the others wait for the next run
    assert [c.instance_id for c in capped.eligible] == [ids[0]]
    assert sum("max_migrations (1)" in s.reason for s in capped.skipped) == 2


# -- the flow -----------------------------------------------------------------------------


async def test_reclaimed_spot_instance_is_migrated_and_ready_again(
    sim: SimulatorServer, receiver: Receiver, store: StateStore
) -> None:
    name = unique("migrate")
    iid = await provision(name, receiver)
    await reclaim(sim, iid)
    mark = len(receiver.requests)

    report = await migration_sweep()
    assert not report.errors and not report.recreated
    assert [(m.instance_id, m.new_instance_id, m.method) for m in report.migrated] == [
        (iid, iid, "migrate")
    ]
    assert report.exited == 1 and [c.instance_id for c in report.eligible] == [iid]
    assert calls(sim, MIGRATE) == [iid] and calls(sim, DELETE) == []

    rec = await store.get_instance(iid)
    assert rec is not None and rec.status == LifecycleStatus.READY and rec.ready_at
    assert rec.migration_attempts == 0 and rec.last_migration_at is not None  # reset on success
    assert await outcomes(store, iid) == ["started", "succeeded"]
    events = signed_events(receiver, mark)
    assert [(e["event"], e["instanceId"], e["status"]) for e in events] == [
        ("instance.migrated", iid, "ready")
    ]
    data = events[0]["data"]
    assert data["migration"] == {"from": iid, "to": iid, "method": "migrate", "region": "AS-SGP-02"}
    assert data["healthCheck"]["healthy"] and "ssh" in data["connectionDetails"]

    from prefect.artifacts import Artifact

    artifact = await Artifact.aget(REPORT_KEY)
    assert artifact is not None and iid in str(artifact.data)


@pytest.mark.parametrize("failure", ["error", "job"])
async def test_failed_migrate_recreates_in_another_region(
    failure: str, sim: SimulatorServer, receiver: Receiver, store: StateStore
) -> None:
    name = unique(f"recreate-{failure}")
    old = await provision(name, receiver)
    await reclaim(sim, old)
    sim.fail_migrations(failure, instance_id=old)
    mark = len(receiver.requests)

    report = await migration_sweep()
    assert not report.errors and not report.migrated, report
    [outcome] = report.recreated
    new = outcome.new_instance_id
    assert outcome.instance_id == old and new != old and outcome.method == "recreate"
    assert outcome.region == "OC-AU-01" and outcome.old_instance_deleted
    # the reclaiming region went last: the first usable one after it was used
    assert [c["body"]["clusterId"] for c in sim.requests(path=CREATE)][-1] == "oc-au-1"
    assert calls(sim, MIGRATE) == [old] and calls(sim, DELETE) == [old]

    assert await store.get_instance(old) is None
    rec = await store.get_instance(new)
    assert rec is not None and rec.name == name and rec.previous_instance_ids == [old]
    assert rec.status == LifecycleStatus.READY and rec.region == "OC-AU-01"
    assert rec.webhook_url == receiver.url and rec.desired_state == DesiredState.RUNNING
    by_name = await store.get_instance_by_name(name)
    assert by_name is not None and by_name.instance_id == new
    history = await store.list_operations(new)  # the whole history followed the record
    kinds = [(str(o.kind), str(o.outcome)) for o in reversed(history)]
    assert kinds[0] == ("provision", "started") and kinds[-1] == ("migration", "succeeded")
    assert ("migration", "started") in kinds

    events = signed_events(receiver, mark)
    assert [(e["event"], e["instanceId"]) for e in events] == [("instance.migrated", new)]
    assert events[0]["data"]["migration"] == {
        "from": old,
        "to": new,
        "method": "recreate",
        "region": "OC-AU-01",
    }


async def test_every_way_failed_marks_failed_and_tells_the_owner(
    sim: SimulatorServer, receiver: Receiver, store: StateStore
) -> None:
    iid = await provision(unique("doomed"), receiver)
    await reclaim(sim, iid)
    sim.fail_migrations("error", instance_id=iid)
    for cluster in ("as-sgp-2", "oc-au-1", "us-ca-6", "us-west-1", "eu-de-1"):
        sim.set_capacity(cluster)  # no region can take a replacement either
    mark = len(receiver.requests)

    report = await migration_sweep()
    assert [e.instance_id for e in report.errors] == [iid] and not report.recreated
    assert "MIGRATE_INSUFFICIENT_RESOURCE" in report.errors[0].error
    assert "recreate failed" in report.errors[0].error
    assert calls(sim, DELETE) == []  # nothing replaced it: the old instance stays
    rec = await store.get_instance(iid)
    assert rec is not None and rec.status == LifecycleStatus.FAILED
    assert rec.status_reason and "recreate failed" in rec.status_reason
    assert rec.migration_attempts == 1
    assert await outcomes(store, iid) == ["started", "failed"]
    events = signed_events(receiver, mark)
    assert [(e["event"], e["status"]) for e in events] == [("instance.migration_failed", "failed")]
    assert events[0]["data"]["error"]["code"] == "RECREATE_FAILED"

    again = await migration_sweep()  # the next run respects the cool-down
    assert again.errors == [] and again.skipped[0].reason.startswith("cool-down")
    assert calls(sim, MIGRATE) == [iid]


async def test_stopped_cooling_down_and_exhausted_instances_are_not_migrated(
    sim: SimulatorServer, store: StateStore
) -> None:
    stopped_name = unique("user-stopped")
    stopped, cooling, exhausted = await asyncio.gather(
        provision(stopped_name), provision(unique("cooling")), provision(unique("exhausted"))
    )
    await stop_instance_flow(name=stopped_name)  # desired state stopped (spot, exited)
    await reclaim(sim, cooling)
    await reclaim(sim, exhausted)
    await store.record_migration_attempt(cooling)  # just now: inside the 30 min cool-down
    for _ in range(3):  # long ago, but the 3 attempts are used up
        await store.record_migration_attempt(exhausted, datetime.now(UTC) - timedelta(hours=2))

    report = await migration_sweep()
    assert calls(sim, MIGRATE) == [] and report.eligible == [] and report.exited == 3
    why = {s.instance_id: s.reason for s in report.skipped}
    assert "desired state is stopped" in why[stopped]
    assert why[cooling].startswith("cool-down")
    assert why[exhausted] == "gave up: 3 migration attempt(s), max 3"
    # overrides: no cool-down, more attempts -> both become eligible (dry run: no calls)
    relaxed = await migration_sweep(dry_run=True, cooldown_minutes=0, max_attempts=5)
    assert {c.instance_id for c in relaxed.eligible} == {cooling, exhausted}
    assert calls(sim, MIGRATE) == []


async def test_dry_run_and_zero_budget_make_no_migrate_call(
    sim: SimulatorServer, store: StateStore
) -> None:
    iid = await provision(unique("dry"))
    await reclaim(sim, iid)

    report = await migration_sweep(dry_run=True)
    assert report.dry_run and [c.instance_id for c in report.eligible] == [iid]
    assert report.migrated == [] and report.recreated == []
    none = await migration_sweep(max_migrations=0)
    assert none.eligible == [] and "max_migrations (0)" in none.skipped[0].reason
    assert calls(sim, MIGRATE) == []
    rec = await store.get_instance(iid)
    assert rec is not None and rec.status == LifecycleStatus.READY
    assert rec.migration_attempts == 0 and rec.last_migration_at is None
    assert await outcomes(store, iid) == []


async def test_bad_parameters_are_refused_before_any_call(sim: SimulatorServer) -> None:
    with pytest.raises(ParameterTypeError, match="concurrency"):
        await migration_sweep(concurrency=0)
    with pytest.raises(ParameterTypeError, match="max_migrations"):
        await migration_sweep(max_migrations=-1)
    assert sim.requests() == []
