"""Benchmark `overhead`: what Prefect orchestration adds to ONE provisioning.

The same machine (RTX 4090 24GB, template 1001, spot) on the same simulator timings through
each path, one after another, each path in its own process:

- bare script, same waits: the project's client and prober, no Prefect, polling like the
  flows (0.5 s doubling to 2 s) — the baseline of the aim;
- bare script, tight polling (0.1 s): how fast the machine itself is ready;
- `provision_instance` called from Python against a SQLite-backed `prefect server start`
  (and once more with `NOVITA_RATE_LIMIT=20/s`: the pacer + Prefect global rate limit);
- a served deployment run (`python -m deployments.serve`, triggered with `run_deployment`);
- a worker-run deployment (`deployments.scale`: PostgreSQL-backed server, one process
  worker polling every 5 s, as `make scale-up` runs it).

Each path makes one untimed-in-the-stats warm-up run ("first" column: the first call in a
fresh process), then `--runs` measured runs; the simulator is reset before each run and
its request counters give the Novita calls. No rate cap and no latency here: the
difference between paths is orchestration only.
"""

from __future__ import annotations

import time
from typing import Any

from bench.common import WAITS, Options, policies_job, scaled_out
from bench.infra import PYTHON, Background, Infra, run_jobs, runner_env, say
from bench.report import Report, min_median

NAME = "overhead"
DEPLOYMENT = "provision-instance/provision-instance"
AIM_OVERHEAD_S = 0.5
POLL_PATH = "/gpu/instance"
"""`GET /gpu/instance`: the status polls (their number depends on when the wait starts)."""
BEFORE = {
    "bare-same-waits": 3.53,
    "bare-tight": 2.57,
    "python": 4.3,
    "served": 9.2,
}
"""Medians from the issue (same machine class, 2 cores)."""


def _job(path: str, runs: int, prefix: str, warm_up: int, **extra: Any) -> dict[str, Any]:
    return {
        "kind": "provision",
        "path": path,
        "runs": runs + warm_up,  # the first `warm_up` runs are not measured
        "prefix": prefix,
        **WAITS,
        **extra,
    }


def _row_stats(result: dict[str, Any], warm_up: int) -> dict[str, Any]:
    runs = result.get("runs", [])
    if not runs:
        return {"error": result.get("error", "no runs"), "runs": []}
    first, measured = runs[0], runs[warm_up:] or runs[:1]
    errors = [r["error"] for r in runs if r.get("error")]
    fastest, median = min_median([r["seconds"] for r in measured])
    return {
        "first": first["seconds"],
        "min": fastest,
        "median": median,
        "calls": sorted({r["calls"] for r in measured}),
        "polls": sorted({r["by_path"].get(POLL_PATH, 0) for r in measured}),
        "steps": sorted({r["calls"] - r["by_path"].get(POLL_PATH, 0) for r in measured}),
        "by_path": measured[-1]["by_path"],
        "errors": errors,
        "runs": runs,
        "rss_mb": result.get("rss_mb"),
    }


def _served(
    infra: Infra, env: dict[str, str], runs: int, warm_up: int, quick: bool
) -> dict[str, Any]:
    serve_env = dict(env)
    if quick:  # the smoke test cannot wait for Prefect's 10 s runner poll
        serve_env["PREFECT_RUNNER_POLL_FREQUENCY"] = "2"
    serve = Background(
        "serve",
        [PYTHON, "-m", "deployments.serve"],
        serve_env,
        infra.workdir / "logs" / "serve.log",
    )
    try:
        job = _job("deployment", runs, "served", warm_up, deployment=DEPLOYMENT)
        # Let the runner start polling before the first run.
        job["settle_seconds"] = 0 if quick else 3
        return run_jobs(infra, [policies_job(), job], env, "overhead-served")[1]
    finally:
        serve.stop(grace=15)


def _worker(infra: Infra, runs: int, warm_up: int) -> dict[str, Any]:
    with scaled_out(infra, "overhead", workers=1, flow_env={}) as config:
        env = runner_env(infra, api_url=config.api_url, state_url=config.state_url)
        job = _job("deployment", runs, "worker", warm_up, deployment=DEPLOYMENT)
        return run_jobs(infra, [policies_job(), job], env, "overhead-worker")[1]


def run(options: Options, infra: Infra) -> Report:
    """Measure every path and build the report (table, checks, raw runs)."""
    started = time.monotonic()
    runs = options.runs_or(5)
    warm_up = 0 if options.quick else 1
    server = infra.server()
    state = f"sqlite+aiosqlite:///{infra.workdir}/overhead-state.db"
    env = runner_env(infra, api_url=server.api_url, state_url=state)
    bare_env = runner_env(infra, api_url=None, state_url=None)
    results: dict[str, dict[str, Any]] = {}

    say("overhead: bare script (same waits) ...")
    results["bare-same-waits"] = run_jobs(
        infra, [_job("bare", runs, "bare", warm_up)], bare_env, "overhead-bare"
    )[0]
    if not options.quick:
        say("overhead: bare script (tight polling) ...")
        tight = _job("bare", runs, "tight", warm_up) | {"poll_initial": 0.1, "poll_max": 0.1}
        results["bare-tight"] = run_jobs(infra, [tight], bare_env, "overhead-bare-tight")[0]
    say("overhead: provision_instance from Python ...")
    results["python"] = run_jobs(
        infra, [policies_job(), _job("python", runs, "py", warm_up)], env, "overhead-python"
    )[1]
    if not options.quick:
        say("overhead: provision_instance from Python, NOVITA_RATE_LIMIT=20/s ...")
        limited_env = runner_env(infra, api_url=server.api_url, state_url=state, rate_limit="20/s")
        results["python-rate-limited"] = run_jobs(
            infra, [_job("python", runs, "pyrl", warm_up)], limited_env, "overhead-python-rl"
        )[0]
    say("overhead: served deployment run ...")
    results["served"] = _served(infra, env, runs, warm_up, options.quick)
    if options.workers:
        say("overhead: worker-run deployment (PostgreSQL, 1 worker) ...")
        try:
            results["worker"] = _worker(infra, runs, warm_up)
        except RuntimeError as exc:
            results["worker"] = {"error": str(exc).splitlines()[0]}
    return _report(results, runs, options, time.monotonic() - started)


LABELS = {
    "bare-same-waits": "bare script, same waits (0.5 s doubling to 2 s)",
    "bare-tight": "bare script, tight polling (0.1 s)",
    "python": "provision_instance from Python (SQLite server)",
    "python-rate-limited": "provision_instance from Python, NOVITA_RATE_LIMIT=20/s",
    "served": "served deployment run (deployments.serve, runner poll 10 s)",
    "worker": "worker-run deployment (PostgreSQL, 1 process worker, poll 5 s)",
}


def _report(
    results: dict[str, dict[str, Any]], runs: int, options: Options, seconds: float
) -> Report:
    report = Report(
        name=NAME,
        title=f"overhead: one provisioning, {runs} measured run(s) per path after one warm-up",
        columns=[
            "path",
            "min s",
            "median s",
            "first s",
            "Novita calls (polls)",
            "overhead vs bare s",
            "before median s",
        ],
        settings={"runs": runs, "quick": options.quick, "waits": WAITS},
        seconds=seconds,
    )
    warm_up = 0 if options.quick else 1
    rows = {key: _row_stats(value, warm_up) for key, value in results.items()}
    report.raw = rows
    base = rows.get("bare-same-waits", {}).get("median")
    for key, row in rows.items():
        if row.get("median") is None:
            report.rows.append([LABELS[key], None, None, None, None, None, BEFORE.get(key)])
            report.notes.append(f"{key}: {row.get('error')}")
            continue
        overhead = None if base is None or key.startswith("bare") else row["median"] - base
        calls = "/".join(str(c) for c in row["calls"])
        calls += f" ({'/'.join(str(p) for p in row['polls'])})"
        report.rows.append(
            [
                LABELS[key],
                row["min"],
                row["median"],
                row["first"],
                calls,
                overhead,
                BEFORE.get(key),
            ]
        )
        for error in row["errors"]:
            report.notes.append(f"{key}: {error}")
    steps = {tuple(r["steps"]) for k, r in rows.items() if r.get("steps") and k != "bare-tight"}
    report.check(
        "must",
        "every path makes the same Novita calls apart from status polls",
        len(steps) == 1,
        ", ".join(f"{k}: {'/'.join(map(str, r.get('steps', [])))}" for k, r in rows.items()),
    )
    errors = sum(len(r.get("errors", [])) + ("error" in r) for r in rows.values())
    report.check("must", "every run ended ready", errors == 0, f"{errors} error(s)")
    python = rows.get("python", {}).get("median")
    if python is not None and base is not None:
        overhead = python - base
        report.check(
            "aim",
            f"orchestration overhead of one provisioning under {AIM_OVERHEAD_S} s "
            "(from Python, median, vs the bare script with the same waits)",
            overhead < AIM_OVERHEAD_S,
            f"{overhead:.2f} s ({python:.2f} s vs {base:.2f} s)",
        )
    report.notes.append(
        "simulator speed 3 (running 2 s after create, serving 3 s after), no rate cap, no "
        "latency; cached Novita reads refreshed on every run (PREFECT_TASKS_REFRESH_CACHE) "
        "so every path makes the same calls; the number of status polls follows from when "
        "each path's wait starts"
    )
    return report
