"""novita-health's verdict rules and the reclaim trigger's two spellings (no server needed)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import yaml

from clients.novita import Instance
from flows.health.rules import Level, SweepSeen, judge_drift, judge_novita, judge_sweep, overall
from flows.sweeps.reclaims.rules import find_reclaims
from store import ManagedInstance

ROOT = Path(__file__).resolve().parents[2]
NOW = datetime(2026, 12, 1, 12, tzinfo=UTC)


def test_health_rules_give_one_verdict() -> None:
    now = NOW
    late = SweepSeen(
        name="fleet-sync",
        interval_minutes=10,
        deployed_at=now - timedelta(days=1),
        last_success_at=now - timedelta(minutes=21),
    )
    fresh = late.model_copy(update={"deployed_at": now - timedelta(minutes=3)})
    assert judge_sweep(late, now).level == Level.DEGRADED
    assert judge_sweep(fresh, now).level == Level.HEALTHY
    assert judge_sweep(SweepSeen(name="x"), now).level == Level.HEALTHY  # not deployed
    paused = judge_sweep(late.model_copy(update={"paused": True}), now)
    assert paused.level == Level.HEALTHY and "paused" in paused.reason
    record = ManagedInstance(
        instance_id="0123456789abcdef", name="t-1", status="ready", updated_at=now
    )
    live = [Instance(id="0123456789abcdef", status="exited")]
    assert judge_drift([record], live, now, 15).level == Level.HEALTHY  # too recent
    later = now + timedelta(minutes=16)
    drift = judge_drift([record], live, later, 15)
    assert drift.level == Level.DEGRADED and "t-1 (wants running" in drift.reason
    verdict = overall([judge_novita(False, 1.0, "refused", 2000), drift])
    assert verdict.verdict == Level.DOWN
    assert verdict.summary().startswith("Novita health: down (novita: refused; drift:")


def test_watcher_announces_what_a_migration_would_take_now() -> None:
    def rec(iid: str, **fields: object) -> ManagedInstance:
        base: dict[str, object] = {"status": "ready", "billing_mode": "spot"}
        return ManagedInstance(instance_id=iid, name=f"n-{iid[-1]}", **(base | fields))

    ids = [f"{i:016x}" for i in range(4)]
    records = [
        rec(ids[0]),  # reclaimed: announced
        rec(ids[1], desired_state="stopped"),  # stopped by a user: never
        rec(ids[2], status="migrating", last_migration_at=NOW - timedelta(minutes=1)),
        rec(ids[3]),  # still running
    ]
    live = [
        Instance(id=ids[0], status="exited", spot_status="terminated"),
        Instance(id=ids[1], status="exited", spot_status="terminated"),
        Instance(id=ids[2], status="exited", spot_status="terminated"),
        Instance(id=ids[3], status="running"),
    ]
    found = find_reclaims(records, live, NOW, 30, 3)
    assert [n.instance_id for n in found.reclaimed] == [ids[0]]
    assert found.exited == 3 and len(found.skipped) == 2


def test_prefect_yaml_trigger_is_the_served_one() -> None:
    from deployments.triggers import RECLAIM_TRIGGER, deployment_triggers

    declared = yaml.safe_load((ROOT / "prefect.yaml").read_text())["deployments"]
    by_name = {d["name"]: d for d in declared}
    assert by_name["migration-sweep"]["triggers"] == [RECLAIM_TRIGGER]
    [trigger] = deployment_triggers("migration-sweep")
    assert trigger.expect == {"novita.instance.reclaimed"}
    assert by_name["reclaim-watch"]["schedules"] == [{"interval": 60}]
    assert by_name["novita-health"]["schedules"] == [{"interval": 300}]


def test_automation_files_are_valid_prefect_automations() -> None:
    from uuid import UUID

    from deployments.automations import build_automation, load_specs, main

    automations = [build_automation(spec, UUID(int=1)) for spec in load_specs()]
    expected = {
        "novita-provision-failed": {"prefect.flow-run.Failed", "prefect.flow-run.Crashed"},
        "novita-health-degraded": {"novita.health.degraded"},
        "novita-migration-failed": {"novita.migration.failed"},
    }
    assert {a.name: a.trigger.expect for a in automations} == expected
    for automation in automations:
        [action] = automation.actions
        assert action.type == "send-notification" and action.block_document_id == UUID(int=1)
    assert main(["--check"]) == 0
