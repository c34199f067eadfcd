"""`python -m bench <name> [--quick] [--runs N] [--skip-workers]`; `python -m bench all`.

Starts the simulator (its own process) and, when a benchmark needs it, one SQLite-backed
Prefect server, shared by the benchmarks of the run; each prints its table and checks and
writes JSON under `bench/results/`. Everything started is stopped at the end, on error and
on Ctrl-C. Exit code 1 when something that must hold did not (a `FAIL` line).
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import time
from collections.abc import Callable

from bench import fleet, overhead, seed_style, sweep
from bench.common import SPEED, Options
from bench.infra import QUIET, Infra, install_cleanup, machine_info, make_workdir, say
from bench.report import Report, write_json

BENCHMARKS: dict[str, Callable[[Options, Infra], Report]] = {
    "overhead": overhead.run,
    "fleet": fleet.run,
    "seed-style": seed_style.run,
    "sweep": sweep.run,
}


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Parse the command line.

    Example:
        >>> parse_args(["fleet", "--quick"]).quick
        True

    """
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("name", choices=[*BENCHMARKS, "all"])
    parser.add_argument("--quick", action="store_true", help="tiny sizes, one run (smoke)")
    parser.add_argument("--runs", type=int, default=None, help="measured runs where cheap")
    parser.add_argument(
        "--skip-workers", action="store_true", help="no PostgreSQL + process-worker setups"
    )
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder (logs)")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    """Run the benchmarks asked for; returns the exit code."""
    args = parse_args(argv)
    options = Options(quick=args.quick, runs=args.runs, skip_workers=args.skip_workers)
    names = list(BENCHMARKS) if args.name == "all" else [args.name]
    workdir = make_workdir()
    # This process talks to Prefect only for scale-out (explicit URLs): a private home.
    os.environ |= QUIET | {"PREFECT_HOME": str(workdir / "parent-home")}
    os.environ.pop("PREFECT_API_URL", None)
    install_cleanup()
    machine = machine_info()
    say(f"bench: {', '.join(names)}; work folder {workdir}; {machine['cores']} cores")
    started = time.monotonic()
    reports: list[Report] = []
    ok = False
    infra = Infra(workdir, SPEED, settle=not options.quick)
    try:
        for name in names:
            report = BENCHMARKS[name](options, infra)
            reports.append(report)
            print(report.text() + "\n", flush=True)
            path = write_json(report, machine)
            say(f"{name}: {report.seconds:.0f} s; JSON in {path}")
        ok = True
    finally:
        infra.close()
        if ok and not args.keep:
            shutil.rmtree(workdir, ignore_errors=True)
        else:
            say(f"logs kept in {workdir}")
    failed = [c for r in reports for c in r.failed_musts()]
    if len(reports) > 1:
        print("## Summary\n")
        for report in reports:
            for check in report.checks:
                print(f"{report.name}: {check.line()}")
    say(f"bench done in {time.monotonic() - started:.0f} s")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
