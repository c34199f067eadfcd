"""Benchmark `fleet`: 100 provisionings against a Novita that allows 20 requests per second.

The simulator answers 429 above 20 requests/s and adds 50 ms to every request; the project
runs with `NOVITA_RATE_LIMIT=20/s` (its per-process pacer and the Prefect global rate limit
`novita-api`). Setups, each on a fresh simulator and store:

- `provision_fleet` called from Python against a SQLite-backed `prefect server start`, at
  concurrency 5, 20 and 50 waiting until ready, and once without waiting;
- the bare bulk script (same calls, the project's client paced at 20/s, no Prefect);
- `provision-fleet` deployment runs on the PostgreSQL-backed server (`deployments.scale`)
  with 1 worker (one run of 100) and with 3 workers (three runs of 33-34 triggered at once,
  one per worker), each at concurrency 5, 20 and 50, waiting until ready.

Per row: wall time, ready / failed, duplicates (simulator instances sharing a name), Novita
calls per machine, 429s, most requests received in any one-second window, and the lower
bound `calls / 20` with the ratio `wall / bound`.
"""

from __future__ import annotations

import time
from typing import Any

from bench.common import WAITS, Options, policies_job, scaled_out
from bench.infra import Infra, run_jobs, runner_env, say
from bench.report import Report, min_median

NAME = "fleet"
RATE = 20
BUDGET = f"{RATE}/s"
LATENCY_MS = 50.0
DEPLOYMENT = "provision-fleet/provision-fleet"
AIM_RATIO = 1.5
TARGET_CALLS_WAIT = 2.5
TARGET_CALLS_NO_WAIT = 1.2
BEFORE = {
    ("python", 5, True): "139-147 s",
    ("python", 20, True): "-",
    ("python", 50, True): "39% failed",
    ("python", 50, False): "145-284 s; 11% failed at c=50",
    ("bare", 20, True): "68-70 s (one script per machine, c=5)",
    ("bare", 20, False): "12.6 s",
}


def _fleet_job(path: str, n: int, concurrency: int, wait: bool, prefix: str, **extra: Any) -> dict:
    return {
        "kind": "fleet",
        "label": f"{path}-c{concurrency}-{'wait' if wait else 'nowait'}",
        "path": path,
        "n": n,
        "concurrency": concurrency,
        "wait": wait,
        "prefix": prefix,
        "sim": {"rate_limit": RATE, "latency_ms": LATENCY_MS},
        "rate_limit": BUDGET,
        **WAITS,
        **extra,
    }


def _repeat(
    infra: Infra, runs: int, job: dict[str, Any], env: dict[str, str], label: str
) -> list[dict[str, Any]]:
    out = []
    for index in range(runs):
        each = job | {"prefix": f"{job['prefix']}-r{index}"}
        out.append(run_jobs(infra, [policies_job(), each], env, label)[1])
    return out


def run(options: Options, infra: Infra) -> Report:
    """Measure every setup and build the report."""
    started = time.monotonic()
    n = 6 if options.quick else 100
    runs = options.runs_or(1)
    concurrencies = [3] if options.quick else [5, 20, 50]
    no_wait_concurrency = concurrencies[-1]
    bare_concurrency = 3 if options.quick else 20
    server = infra.server()
    rows: list[tuple[str, dict[str, Any], list[dict[str, Any]]]] = []

    bare_env = runner_env(infra, api_url=None, state_url=None)
    bare_jobs = [
        _fleet_job("bare", n, bare_concurrency, wait, f"bare-{'w' if wait else 'n'}-r{i}")
        for wait in (True, False)
        for i in range(runs)
    ]
    say(f"fleet: bare bulk script, c={bare_concurrency}, with and without waiting ...")
    bare_results = run_jobs(infra, bare_jobs, bare_env, "fleet-bare")
    for wait in (True, False):
        picked = [r for j, r in zip(bare_jobs, bare_results, strict=True) if j["wait"] == wait]
        rows.append(("bare bulk script", _fleet_job("bare", n, bare_concurrency, wait, ""), picked))

    plans = [(c, True) for c in concurrencies] + [(no_wait_concurrency, False)]
    python_rows = []
    for concurrency, wait in plans:
        state = f"sqlite+aiosqlite:///{infra.workdir}/fleet-c{concurrency}-{wait}.db"
        # Quick: no shared Prefect rate limit (its ~2 s per contended slot on SQLite would
        # triple the smoke test's time); `seed-style --quick` runs that path.
        budget = None if options.quick else BUDGET
        env = runner_env(infra, api_url=server.api_url, state_url=state, rate_limit=budget)
        job = _fleet_job("python", n, concurrency, wait, f"py{concurrency}{'w' if wait else 'n'}")
        python_rows.append((job, env))
    if not options.quick:  # what the shared Prefect limit itself costs
        state = f"sqlite+aiosqlite:///{infra.workdir}/fleet-diagnostic.db"
        env = runner_env(infra, api_url=server.api_url, state_url=state, rate_limit=BUDGET)
        job = _fleet_job("python", n, 20, True, "diag", bypass_shared_limit=True)
        python_rows.append((job, env))
    if options.quick:  # one process for every row: the smoke test's time is short
        say("fleet: provision_fleet from Python (SQLite server), every row in one process ...")
        jobs = [job for job, _ in python_rows]
        results = run_jobs(infra, [policies_job(), *jobs], python_rows[0][1], "fleet-py")[1:]
        for job, result in zip(jobs, results, strict=True):
            rows.append(("SQLite server, from Python", job, [result]))
    else:
        for job, env in python_rows:
            say(
                f"fleet: provision_fleet from Python (SQLite server), c={job['concurrency']}, "
                f"wait={job['wait']} ..."
            )
            setup = "SQLite server, from Python"
            if job.get("bypass_shared_limit"):
                setup += ", shared limit bypassed (diagnostic)"
            rows.append((setup, job, _repeat(infra, runs, job, env, "fleet-py")))

    if options.workers:
        for workers in (1, 3):
            label = f"PostgreSQL, {workers} worker{'s' if workers > 1 else ''}"
            jobs = [
                _fleet_job(
                    "deployments",
                    n,
                    concurrency,
                    True,
                    f"w{workers}c{concurrency}",
                    splits=workers,
                    deployment=DEPLOYMENT,
                )
                for concurrency in concurrencies
            ]
            try:
                with scaled_out(
                    infra,
                    f"fleet{workers}",
                    workers=workers,
                    flow_env={"NOVITA_RATE_LIMIT": BUDGET},
                    # one run per worker: a worker takes every queued run up to its limit
                    worker_limit=1 if workers > 1 else 4,
                ) as config:
                    env = runner_env(infra, api_url=config.api_url, state_url=config.state_url)
                    for job in jobs:
                        say(f"fleet: {label}, c={job['concurrency']}, {workers} run(s) ...")
                        measured = _repeat(infra, runs, job, env, f"fleet-w{workers}")
                        rows.append((label, job, measured))
            except RuntimeError as exc:
                failed = [{"error": str(exc).splitlines()[0]}]
                rows.extend((label, job, failed) for job in jobs if job not in [r[1] for r in rows])
    return _report(rows, n, runs, options, time.monotonic() - started)


def _figures(result: dict[str, Any], n: int) -> dict[str, Any]:
    calls = result.get("calls")
    return {
        "wall": result.get("seconds"),
        "ready": result.get("ready"),
        "succeeded": result.get("succeeded"),
        "failed": result.get("failed"),
        "duplicates": result.get("duplicates"),
        "calls_per_machine": None if calls is None else calls / n,
        "status_429": result.get("status_429"),
        "max_per_second": result.get("max_received_in_any_second"),
        "bound": None if calls is None else calls / RATE,
        "error": result.get("error"),
    }


def _report(
    rows: list[tuple[str, dict[str, Any], list[dict[str, Any]]]],
    n: int,
    runs: int,
    options: Options,
    seconds: float,
) -> Report:
    report = Report(
        name=NAME,
        title=f"fleet: {n} provisionings, simulator capped at {RATE} requests/s + "
        f"{LATENCY_MS:g} ms latency, "
        + ("no NOVITA_RATE_LIMIT (quick)" if options.quick else f"NOVITA_RATE_LIMIT={BUDGET}"),
        columns=[
            "setup",
            "concurrency",
            "wait",
            "wall s",
            "ready",
            "failed",
            "duplicates",
            "calls/machine",
            "429s",
            "max in any 1 s",
            "bound s",
            "wall/bound",
            "before",
        ],
        settings={"n": n, "runs": runs, "quick": options.quick, "rate": RATE},
        seconds=seconds,
    )
    for setup, job, results in rows:
        figures = [_figures(r, n) for r in results]
        last = figures[-1]
        walls = [f["wall"] for f in figures if f["wall"] is not None]
        wall = min_median(walls)[1] if walls else None
        ratio = None if wall is None or not last["bound"] else wall / last["bound"]
        wait, concurrency = job["wait"], job["concurrency"]
        key = (job["path"] if job["path"] != "deployments" else "workers", concurrency, wait)
        report.rows.append(
            [
                setup,
                concurrency,
                "yes" if wait else "no",
                wall,
                last["ready"] if wait else f"{last['succeeded']} created",
                last["failed"],
                last["duplicates"],
                last["calls_per_machine"],
                last["status_429"],
                last["max_per_second"],
                last["bound"],
                ratio,
                BEFORE.get(key, "-"),
            ]
        )
        report.raw.setdefault("rows", []).append(
            {"setup": setup, "job": job, "figures": figures, "results": results}
        )
        name = f"{setup}, c={concurrency}, {'wait' if wait else 'no wait'}"
        for f in figures:
            if f["error"]:
                report.notes.append(f"{name}: {f['error']}")
        done = (last["ready"] if wait else last["succeeded"]) or 0
        holds = (
            done == n
            and last["failed"] == 0
            and last["duplicates"] == 0
            and last["status_429"] == 0
            and (last["max_per_second"] or 0) <= RATE
        )
        # The diagnostic row runs without the shared limit on purpose: what it finds is
        # information (it can meet the cap), not something the project must hold.
        report.check(
            "diagnostic" if job.get("bypass_shared_limit") else "must",
            f"{name}: {n} {'ready' if wait else 'created'}, 0 failed, 0 duplicates, "
            f"0 429s, <= {RATE} in any second",
            holds,
            f"{done} {'ready' if wait else 'created'}, {last['failed']} failed, "
            f"{last['duplicates']} duplicates, {last['status_429']} 429s, "
            f"max {last['max_per_second']}/s",
        )
        if job["path"] == "bare" or job.get("bypass_shared_limit") or ratio is None:
            continue
        report.check(
            "aim",
            f"{name}: wall within {AIM_RATIO}x of the rate bound",
            ratio <= AIM_RATIO,
            f"{wall:.1f} s / {last['bound']:.1f} s = {ratio:.2f}x",
        )
        limit = TARGET_CALLS_WAIT if wait else TARGET_CALLS_NO_WAIT
        report.check(
            "target",
            f"{name}: at most {limit} Novita calls per machine",
            last["calls_per_machine"] <= limit,
            f"{last['calls_per_machine']:.2f}",
        )
    report.notes.append(
        f"bound = Novita calls / {RATE} per s; the pacer's own budget is a burst of 2 then "
        "18/s (and 97% of that per process), so about 1.1x is the floor; with waiting, the "
        "last machine created still needs ~3 s to serve (simulator speed 3)"
    )
    return report
