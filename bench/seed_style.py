"""Benchmark `seed-style`: 100 creates without waiting under a 100 calls/minute budget.

How a seed system fills an account: `provision_fleet(..., wait_until_ready=False)` called
from Python against a SQLite-backed `prefect server start`, with `NOVITA_RATE_LIMIT=100/min`
(a burst of 10, then 1.5 requests/s), the simulator's per-second cap off and 50 ms latency;
then the bare bulk script under the same budget. The simulator's per-second counts prove
that no 60-second window saw more than 100 calls. The floor is about
`(calls - burst) / 1.5` s: ~63 s for 104 calls.
"""

from __future__ import annotations

import time
from typing import Any

from bench.common import WAITS, Options, policies_job
from bench.infra import Infra, run_jobs, runner_env, say
from bench.report import Report
from bench.simadmin import max_in_window

NAME = "seed-style"
LATENCY_MS = 50.0
AIM_SECONDS = 70.0
BEFORE_SECONDS = "105-120 s"


def _job(path: str, n: int, concurrency: int, prefix: str, budget: str) -> dict[str, Any]:
    return {
        "kind": "fleet",
        "label": f"seed-{path}",
        "path": path,
        "n": n,
        "concurrency": concurrency,
        "wait": False,
        "prefix": prefix,
        "sim": {"rate_limit": 0, "latency_ms": LATENCY_MS},
        "rate_limit": budget,
        "keep_seconds": True,
        **WAITS,
    }


def run(options: Options, infra: Infra) -> Report:
    """Measure the project path and the bare script under the budget; build the report."""
    started = time.monotonic()
    if options.quick:
        n, requests, window, aim = 6, 20, 5, None
    else:
        n, requests, window, aim = 100, 100, 60, AIM_SECONDS
    budget = f"{requests}/min" if window == 60 else f"{requests}/{window}s"  # e.g. 20/5s
    server = infra.server()
    state = f"sqlite+aiosqlite:///{infra.workdir}/seed-state.db"
    env = runner_env(infra, api_url=server.api_url, state_url=state, rate_limit=budget)
    bare_env = runner_env(infra, api_url=None, state_url=None)
    say(f"seed-style: provision_fleet from Python, {n} creates, no wait, {budget} ...")
    project = run_jobs(
        infra, [policies_job(), _job("python", n, 5, "seed", budget)], env, "seed-python"
    )[1]
    say(f"seed-style: bare bulk script, {n} creates, {budget} ...")
    bare = run_jobs(infra, [_job("bare", n, 5, "bare", budget)], bare_env, "seed-bare")[0]
    paths = [
        ("provision_fleet from Python (SQLite server)", project, BEFORE_SECONDS),
        ("bare bulk script", bare, "-"),
    ]
    if not options.quick:  # what the shared Prefect limit itself costs
        say(f"seed-style: provision_fleet, shared limit bypassed (diagnostic), {budget} ...")
        diagnostic = _job("python", n, 5, "diag", budget) | {"bypass_shared_limit": True}
        paths.append(
            (
                "provision_fleet from Python, shared limit bypassed (diagnostic)",
                run_jobs(infra, [policies_job(), diagnostic], env, "seed-diagnostic")[1],
                "-",
            )
        )

    report = Report(
        name=NAME,
        title=f"seed-style: {n} creates without waiting under {budget} "
        f"(simulator: no per-second cap, {LATENCY_MS:g} ms latency)",
        columns=[
            "path",
            "wall s",
            "created",
            "failed",
            "duplicates",
            "Novita calls",
            "429s",
            f"max in any {window} s",
            "before",
        ],
        settings={"n": n, "budget": budget, "window_seconds": window, "quick": options.quick},
        seconds=time.monotonic() - started,
    )
    report.raw = {label: result for label, result, _ in paths}
    for label, result, before in paths:
        peak = max_in_window({"perSecond": result.get("per_second", [])}, window)
        report.rows.append(
            [
                label,
                result.get("seconds"),
                result.get("succeeded"),
                result.get("failed"),
                result.get("duplicates"),
                result.get("calls"),
                result.get("status_429"),
                peak,
                before,
            ]
        )
        if result.get("error"):
            report.notes.append(f"{label}: {result['error']}")
        holds = (
            result.get("succeeded") == n
            and result.get("failed") == 0
            and result.get("duplicates") == 0
            and result.get("status_429") == 0
            and peak <= requests
        )
        report.check(
            "must",
            f"{label}: {n} created, 0 failed, 0 duplicates, 0 429s, "
            f"<= {requests} calls in any {window} s",
            holds,
            f"{result.get('succeeded')} created, {result.get('failed')} failed, "
            f"{result.get('duplicates')} duplicates, {result.get('status_429')} 429s, "
            f"max {peak} in {window} s",
        )
    wall = project.get("seconds")
    if aim is not None and wall is not None:
        report.check(
            "aim",
            f"seed-style {n} creates under {aim:g} s",
            wall < aim,
            f"{wall:.1f} s (bare script {bare.get('seconds', 0):.1f} s)",
        )
    report.notes.append(
        f"windows are whole wall-clock seconds from the simulator's per-second counts; the "
        f"budget {budget} is spent as a burst of {max(1, requests // 10)} then "
        f"{(requests - max(1, requests // 10)) / window:g}/s"
    )
    return report
