"""One measured process: `python -m bench.runner <spec.json> <out.json>`.

The benchmark parent starts this with the environment of the setup being measured
(`PREFECT_API_URL`, `NOVITA_*`), so Prefect reads its settings before it is imported. The
spec lists jobs; each is timed around the project's public entrypoint (or the bare script),
with the simulator's request counters zeroed right before and read right after, and the
results are written as JSON to `out.json`. Prefect is imported only by jobs that need it, so
a bare-script process never carries it.

Job kinds (see each `job_*` function): `policies`, `provision` (paths `bare`, `python`,
`deployment`), `fleet` (paths `bare`, `python`, `deployments`), `sweep`.
"""

from __future__ import annotations

import asyncio
import json
import resource
import sys
import time
import traceback
from pathlib import Path
from typing import Any

from bench.bare import Machine, Waits, bare_client, provision_bulk, provision_one
from bench.simadmin import SimAdmin, calls_by_path

PRODUCT = "RTX 4090 24GB"
TEMPLATE = "1001"


def peak_rss_mb() -> float:
    """This process's peak resident memory so far, in MB.

    Linux's `VmHWM` (the high-water mark of this program's own memory); `ru_maxrss` would
    also count the parent's pages this process carried between fork and exec.
    """
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return round(int(line.split()[1]) / 1024, 1)
    except OSError:
        pass
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


def summarize(stats: dict[str, Any], keep_seconds: bool = False) -> dict[str, Any]:
    """The counters a table needs (per-second rows only when asked)."""
    out = {
        "calls": stats["total"],
        "limited": stats["limited"],
        "status_429": stats.get("byStatus", {}).get("429", 0),
        "by_path": calls_by_path(stats),
        "max_received_in_any_second": stats["maxReceivedInAnySecond"],
        "max_served_in_any_second": stats["maxServedInAnySecond"],
    }
    if keep_seconds:
        out["per_second"] = stats["perSecond"]
    return out


def _env_key() -> str:
    import os

    return os.environ["NOVITA_API_KEY"]


def _env_url() -> str:
    import os

    return os.environ["NOVITA_API_BASE_URL"]


def _env_budget() -> str | None:
    import os

    return os.environ.get("NOVITA_RATE_LIMIT") or None


# -- jobs ---------------------------------------------------------------------------------


async def job_policies(spec: dict[str, Any], admin: SimAdmin) -> dict[str, Any]:
    """Save the `default` NovitaPolicies block with the benchmark's poll intervals."""
    from blocks import NovitaPolicies

    started = time.perf_counter()
    await NovitaPolicies(
        poll_initial_seconds=spec["poll_initial"], poll_max_seconds=spec["poll_max"]
    ).asave("default", overwrite=True)
    return {"seconds": time.perf_counter() - started}


async def _wait_for_deployment(name: str, within: float) -> None:
    from prefect.client.orchestration import get_client
    from prefect.exceptions import ObjectNotFound

    deadline = time.monotonic() + within
    async with get_client() as client:
        while True:
            try:
                await client.read_deployment_by_name(name)
                return
            except ObjectNotFound:
                if time.monotonic() > deadline:
                    raise
                await asyncio.sleep(0.5)


async def job_provision(spec: dict[str, Any], admin: SimAdmin) -> dict[str, Any]:
    """`runs` provisionings one after another through one path; each timed and counted.

    Paths: `bare` (client script), `python` (`await provision_instance(...)`), `deployment`
    (`arun_deployment` of `provision-instance/provision-instance`, served or worker-run).
    """
    path = spec["path"]
    waits = Waits(spec["poll_initial"], spec["poll_max"])
    sim = spec.get("sim", {})
    runs: list[dict[str, Any]] = []
    if path == "deployment":
        await _wait_for_deployment(spec["deployment"], spec.get("wait_for_deployment", 120))
        await asyncio.sleep(spec.get("settle_seconds", 0))
    for index in range(spec["runs"]):
        name = f"{spec['prefix']}-{index}"
        admin.prepare(sim.get("rate_limit", 0), sim.get("latency_ms", 0.0))
        error = None
        state = "Completed"
        started = time.perf_counter()
        try:
            if path == "bare":
                from clients.endpoint_prober import EndpointProber

                async with (
                    bare_client(_env_key(), _env_url(), spec.get("rate_limit")) as client,
                    EndpointProber() as prober,
                ):
                    await provision_one(client, prober, name, Machine(), waits)
            elif path == "python":
                from flows.provision import provision_instance

                result = await provision_instance(
                    name=name, product_name=PRODUCT, template_id=TEMPLATE
                )
                state = result.status
            else:
                from prefect.deployments.flow_runs import arun_deployment

                flow_run = await arun_deployment(
                    spec["deployment"],
                    parameters={"name": name, "product_name": PRODUCT, "template_id": TEMPLATE},
                    timeout=spec.get("timeout", 300),
                    poll_interval=spec.get("poll_interval", 0.25),
                    as_subflow=False,
                )
                state = flow_run.state.name if flow_run.state else "?"
                if not (flow_run.state and flow_run.state.is_completed()):
                    error = f"flow run ended {state}"
        except Exception as exc:
            error = f"{type(exc).__name__}: {exc}"
        seconds = time.perf_counter() - started
        runs.append(
            {"name": name, "seconds": seconds, "state": state, "error": error}
            | summarize(admin.stats())
        )
    return {"runs": runs, "rss_mb": peak_rss_mb()}


def _fleet_requests(names: list[str], wait: bool) -> list[dict[str, Any]]:
    return [
        {"name": n, "product_name": PRODUCT, "template_id": TEMPLATE, "wait_until_ready": wait}
        for n in names
    ]


async def _fleet_python(names: list[str], concurrency: int, wait: bool) -> dict[str, Any]:
    from flows.provision_fleet import FleetRequest, provision_fleet

    requests = [FleetRequest(**r) for r in _fleet_requests(names, wait)]
    try:
        fleet = await provision_fleet(requests=requests, concurrency=concurrency)
    except Exception as exc:  # every request failed
        return {"ready": 0, "succeeded": 0, "failed": len(names), "error": str(exc)[:500]}
    return {"ready": fleet.ready, "succeeded": fleet.succeeded, "failed": fleet.failed}


async def _fleet_deployments(
    names: list[str], concurrency: int, wait: bool, splits: int, spec: dict[str, Any]
) -> dict[str, Any]:
    from prefect.deployments.flow_runs import arun_deployment

    parts = [names[i::splits] for i in range(splits)]
    runs = await asyncio.gather(
        *(
            arun_deployment(
                spec["deployment"],
                parameters={"requests": _fleet_requests(part, wait), "concurrency": concurrency},
                timeout=spec.get("timeout", 900),
                poll_interval=spec.get("poll_interval", 0.5),
                as_subflow=False,
            )
            for part in parts
        )
    )
    counts = {"ready": 0, "succeeded": 0, "failed": 0, "states": []}
    for run, part in zip(runs, parts, strict=True):
        state = run.state
        counts["states"].append(state.name if state else "?")
        result = None
        if state is not None and state.is_completed():
            try:
                result = await state.aresult(raise_on_failure=False)
            except Exception as exc:
                counts.setdefault("errors", []).append(f"result unreadable: {exc}"[:300])
        if result is not None and hasattr(result, "ready"):
            counts["ready"] += result.ready
            counts["succeeded"] += result.succeeded
            counts["failed"] += result.failed
        else:
            counts["failed"] += len(part)
    return counts


def bypass_shared_limit() -> None:
    """Diagnostic only: skip the Prefect global rate limit, keep the per-process pacer.

    Shows what the shared limit itself costs a run (the project has no switch for it).
    """
    from blocks.novita_rate_limit import NovitaRateLimit

    if not hasattr(NovitaRateLimit, "_take_shared"):
        raise RuntimeError("blocks.novita_rate_limit changed: update bench.runner's diagnostic")

    async def local_only(self: NovitaRateLimit, slots: int) -> None:
        return None

    NovitaRateLimit._take_shared = local_only  # type: ignore[method-assign]


async def job_fleet(spec: dict[str, Any], admin: SimAdmin) -> dict[str, Any]:
    """One fleet of `n` machines through one path, timed, counted, checked for duplicates.

    Paths: `bare` (bulk client script), `python` (`await provision_fleet(...)`),
    `deployments` (`splits` provision-fleet deployment runs triggered at once).
    `bypass_shared_limit`: the diagnostic of `bypass_shared_limit()`.
    """
    if spec.get("bypass_shared_limit"):
        bypass_shared_limit()
    names = [f"{spec['prefix']}-{i:03d}" for i in range(spec["n"])]
    sim = spec.get("sim", {})
    waits = Waits(spec["poll_initial"], spec["poll_max"])
    if spec["path"] == "deployments":
        await _wait_for_deployment(spec["deployment"], spec.get("wait_for_deployment", 120))
    admin.prepare(sim.get("rate_limit", 0), sim.get("latency_ms", 0.0))
    started = time.perf_counter()
    error = None
    try:
        if spec["path"] == "bare":
            from clients.endpoint_prober import EndpointProber

            async with (
                bare_client(_env_key(), _env_url(), spec.get("rate_limit")) as client,
                EndpointProber() as prober,
            ):
                counts: dict[str, Any] = await provision_bulk(
                    client, prober, names, spec["concurrency"], spec["wait"], Machine(), waits
                )
            counts["succeeded"] = counts["ready"] if spec["wait"] else counts["created"]
        elif spec["path"] == "python":
            counts = await _fleet_python(names, spec["concurrency"], spec["wait"])
        else:
            counts = await _fleet_deployments(
                names, spec["concurrency"], spec["wait"], spec["splits"], spec
            )
    except Exception as exc:
        error = f"{type(exc).__name__}: {exc}"[:500]
        counts = {"ready": 0, "succeeded": 0, "failed": len(names)}
    seconds = time.perf_counter() - started
    stats = admin.stats()
    out = {"seconds": seconds, "error": error or counts.pop("error", None)} | counts
    out |= summarize(stats, keep_seconds=spec.get("keep_seconds", False))
    out["duplicates"] = admin.duplicates()
    out["rss_mb"] = peak_rss_mb()
    return out


SWEEPS = {
    "auto-stop": ("flows.auto_stop_sweep", "auto_stop_sweep"),
    "migration": ("flows.migration_sweep", "migration_sweep"),
    "fleet-sync": ("flows.fleet_sync", "fleet_sync"),
}


def _sweep_summary(report: Any) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key in ("checked", "exited", "changed", "marked_deleted", "unmanaged"):
        value = getattr(report, key, None)
        if isinstance(value, int):
            out[key] = value
        elif isinstance(value, list):
            out[key] = len(value)
    for key in ("eligible", "stopped", "skipped", "errors", "migrated", "recreated"):
        value = getattr(report, key, None)
        if isinstance(value, list):
            out[key] = len(value)
    return out


async def job_sweep(spec: dict[str, Any], admin: SimAdmin) -> dict[str, Any]:
    """One sweep flow over the seeded fleet: wall time, calls by path, peak RSS."""
    import importlib

    module, attribute = SWEEPS[spec["flow"]]
    flow = getattr(importlib.import_module(module), attribute)
    rss_before = peak_rss_mb()
    admin.clear_stats()
    started = time.perf_counter()
    error = None
    summary: dict[str, Any] = {}
    try:
        report = await flow(**spec.get("params", {}))
        summary = _sweep_summary(report)
    except Exception as exc:
        error = f"{type(exc).__name__}: {exc}"[:500]
    seconds = time.perf_counter() - started
    out = {"seconds": seconds, "error": error, "summary": summary}
    out |= summarize(admin.stats())
    out |= {"rss_mb": peak_rss_mb(), "rss_before_mb": rss_before}
    return out


JOBS = {
    "policies": job_policies,
    "provision": job_provision,
    "fleet": job_fleet,
    "sweep": job_sweep,
}


async def run(spec: dict[str, Any]) -> list[dict[str, Any]]:
    """Run every job of the spec in order; a failing job records its error and the rest run."""
    admin = SimAdmin(spec["admin_url"])
    results = []
    try:
        for job in spec["jobs"]:
            try:
                result = await JOBS[job["kind"]](job, admin)
            except Exception as exc:
                traceback.print_exc()
                result = {"error": f"{type(exc).__name__}: {exc}"[:500]}
            results.append({"job": job.get("label", job["kind"])} | result)
    finally:
        admin.close()
    return results


def main(argv: list[str] | None = None) -> int:
    """Read the spec, run the jobs, write the results; exit 0 when the results are written."""
    args = sys.argv[1:] if argv is None else argv
    spec = json.loads(Path(args[0]).read_text())
    started = time.perf_counter()
    results = asyncio.run(run(spec))
    out = {"results": results, "process_seconds": time.perf_counter() - started}
    Path(args[1]).write_text(json.dumps(out, indent=1, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())
