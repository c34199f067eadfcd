"""Benchmark `sweep`: the sweeps over 10,000 managed instances.

The fleet is seeded fast on both sides: the simulator adds the instances already running
or exited (`POST /_admin/instances/seed`), and the store gets the matching records in one
bulk insert. 98% are ready and used a minute ago, 1% are idle (ready, last used two hours
ago) and 1% were reclaimed (spot, exited at Novita, desired state running). Then, each in
its own process against a SQLite-backed `prefect server start` (the simulator adds 50 ms to
every request, no rate cap):

1. `auto_stop_sweep(dry_run=True)`; 2. `migration_sweep(dry_run=True)`; 3. `fleet_sync()`;
4. `auto_stop_sweep()` for real (stops the 1% idle).

Per sweep: wall time, list calls (expected `ceil(N / 100)`), per-instance calls, and the
peak RSS of the process that ran the flow.
"""

from __future__ import annotations

import asyncio
import math
import time
from datetime import timedelta
from decimal import Decimal
from typing import Any

from bench.common import Options, policies_job
from bench.infra import Infra, run_jobs, runner_env, say
from bench.report import Report

NAME = "sweep"
PAGE_SIZE = 100
LATENCY_MS = 50.0
AIM_SECONDS = 15.0
AIM_RSS_MB = 250.0
PRODUCT_ID = "rtx4090-24g.us-ca-6"
LIST_PATH = "/gpu/instances"
BEFORE = {
    "auto-stop-dry": "8.5-9.8 s at 5,000; 50 pages one after another; ~200 MB",
    "fleet-sync": "6.8-7.1 s at 5,000",
}


def seed_simulator(infra: Infra, n: int) -> dict[str, list[dict[str, str]]]:
    """Reset the simulator and seed the three groups; returns `{group: [{id, name}]}`."""
    idle = reclaimed = max(1, n // 100)
    admin = infra.sim.admin
    admin.prepare(rate_limit=0, latency_ms=LATENCY_MS)
    groups = {
        "busy": admin.seed(n - idle - reclaimed, namePrefix="busy", productId=PRODUCT_ID),
        "idle": admin.seed(idle, namePrefix="idle", productId=PRODUCT_ID),
        "reclaimed": admin.seed(
            reclaimed,
            namePrefix="reclaimed",
            productId=PRODUCT_ID,
            status="exited",
            billingMode="spot",
            reclaimed=True,
        ),
    }
    admin.clear_stats()
    return groups


async def seed_store(state_url: str, groups: dict[str, list[dict[str, str]]]) -> float:
    """One bulk insert of the managed records (schema created by the store first)."""
    from sqlalchemy import insert

    from store import ManagedInstance, StateStore, utc_now
    from store.tables import InstanceRow

    now = utc_now()
    used = {
        "busy": now - timedelta(minutes=1),
        "idle": now - timedelta(hours=2),
        "reclaimed": now - timedelta(hours=1),
    }
    columns = set(InstanceRow.__table__.columns.keys()) - {"id"}
    rows = []
    for group, seeded in groups.items():
        billing = "spot" if group == "reclaimed" else "onDemand"
        for item in seeded:
            model = ManagedInstance(
                instance_id=item["id"],
                name=item["name"],
                request={
                    "product_name": "RTX 4090 24GB",
                    "template_id": "1001",
                    "gpu_num": 1,
                    "rootfs_size": 60,
                    "billing_mode": billing,
                },
                cluster_id="us-ca-6",
                region="US-CA-06",
                product_id=PRODUCT_ID,
                product_name="RTX 4090 24GB",
                billing_mode=billing,
                price_per_hour=Decimal("0.61"),
                status="ready",
                created_at=now - timedelta(hours=3),
                ready_at=now - timedelta(hours=3),
                last_used_at=used[group],
                updated_at=now - timedelta(hours=3),
            )
            values = model.model_dump()
            rows.append({k: v for k, v in values.items() if k in columns})
    started = time.perf_counter()
    async with StateStore(state_url) as store:
        await store.list_instances()  # creates / upgrades the schema
        async with store.engine.begin() as conn:
            await conn.execute(insert(InstanceRow.__table__), rows)
        assert len(await store.list_instances()) == len(rows)
    return time.perf_counter() - started


SWEEPS = [
    ("auto-stop-dry", "auto-stop", {"dry_run": True}, "auto_stop_sweep(dry_run=True)"),
    ("migration-dry", "migration", {"dry_run": True}, "migration_sweep(dry_run=True)"),
    ("fleet-sync", "fleet-sync", {}, "fleet_sync()"),
    ("auto-stop", "auto-stop", {"dry_run": False}, "auto_stop_sweep() (stops the 1% idle)"),
]


def run(options: Options, infra: Infra) -> Report:
    """Seed, run the four sweeps, build the report."""
    started = time.monotonic()
    n = 200 if options.quick else 10_000
    server = infra.server()
    state = f"sqlite+aiosqlite:///{infra.workdir}/sweep-state.db"
    say(f"sweep: seeding {n} instances (simulator + store) ...")
    seed_started = time.perf_counter()
    groups = seed_simulator(infra, n)
    store_seconds = asyncio.run(seed_store(state, groups))
    seeding = time.perf_counter() - seed_started
    say(f"  seeded in {seeding:.1f} s (store bulk insert {store_seconds:.1f} s)")
    env = runner_env(infra, api_url=server.api_url, state_url=state)
    jobs = [
        {"kind": "sweep", "label": key, "flow": flow, "params": params}
        for key, flow, params, _ in SWEEPS
    ]
    results: dict[str, dict[str, Any]] = {}
    if options.quick:  # one process for all: the smoke test's time is short
        say("sweep: four sweeps in one process ...")
        for job, result in zip(
            jobs, run_jobs(infra, [policies_job(), *jobs], env, "sweep")[1:], strict=True
        ):
            results[job["label"]] = result
    else:  # one process each: the peak RSS is that sweep's alone
        run_jobs(infra, [policies_job()], env, "sweep-policies")
        for job in jobs:
            say(f"sweep: {job['label']} ...")
            results[job["label"]] = run_jobs(infra, [job], env, f"sweep-{job['label']}")[0]
    return _report(results, n, groups, seeding, options, time.monotonic() - started)


def _report(
    results: dict[str, dict[str, Any]],
    n: int,
    groups: dict[str, list[dict[str, str]]],
    seeding: float,
    options: Options,
    seconds: float,
) -> Report:
    expected_pages = math.ceil(n / PAGE_SIZE)
    report = Report(
        name=NAME,
        title=f"sweep: {n} managed instances ({len(groups['idle'])} idle, "
        f"{len(groups['reclaimed'])} reclaimed), {LATENCY_MS:g} ms latency, no rate cap",
        columns=[
            "sweep",
            "wall s",
            "list calls",
            "expected",
            "per-instance calls",
            "outcome",
            "peak RSS MB",
            "before",
        ],
        settings={"n": n, "page_size": PAGE_SIZE, "quick": options.quick, "seeding_s": seeding},
        seconds=seconds,
    )
    report.raw = results
    for key, _flow, _params, label in SWEEPS:
        result = results.get(key, {})
        by_path = result.get("by_path", {})
        lists = by_path.get(LIST_PATH, 0)
        per_instance = sum(v for p, v in by_path.items() if p != LIST_PATH)
        summary = result.get("summary", {})
        outcome = ", ".join(f"{k} {v}" for k, v in summary.items())
        report.rows.append(
            [
                label,
                result.get("seconds"),
                lists,
                expected_pages,
                per_instance,
                outcome or "-",
                result.get("rss_mb"),
                BEFORE.get(key, "-"),
            ]
        )
        if result.get("error"):
            report.notes.append(f"{key}: {result['error']}")
        report.check(
            "must",
            f"{key} ran without error",
            not result.get("error"),
            result.get("error") or "ok",
        )
        if key != "auto-stop" and result.get("seconds") is not None:
            report.check(
                "aim",
                f"{key}: under {AIM_SECONDS:g} s with list calls = ceil({n} / {PAGE_SIZE})",
                result["seconds"] < AIM_SECONDS and lists == expected_pages,
                f"{result['seconds']:.1f} s, {lists} list calls (expected {expected_pages})",
            )
        if result.get("rss_mb") is not None:
            report.check(
                "aim",
                f"{key}: peak RSS of the flow's process under {AIM_RSS_MB:g} MB",
                result["rss_mb"] < AIM_RSS_MB,
                f"{result['rss_mb']:.0f} MB (before the flow: {result.get('rss_before_mb')} MB)",
            )
    stopped = results.get("auto-stop", {}).get("summary", {}).get("stopped")
    report.check(
        "must",
        "the real auto-stop stopped every idle instance",
        stopped == len(groups["idle"]),
        f"{stopped} stopped of {len(groups['idle'])} idle",
    )
    report.notes.append(
        f"seeding (not measured): {seeding:.1f} s; each sweep "
        + ("in one shared process (quick)" if options.quick else "in its own process")
        + "; peak RSS includes importing Prefect and the project"
    )
    return report
