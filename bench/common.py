"""What every benchmark shares: the options, the simulator speed, the poll intervals, scale-out.

One simulator speed for every run: 3 simulated seconds per real second, so a created
machine runs after 2 s and serves after 3 s (`simulator.lifecycle.Timings`: running after
6 simulated seconds, the app 3 s later). The flows poll with the `default` NovitaPolicies
block saved by the benchmark (first wait 0.5 s, doubling up to 2 s), and the bare scripts
use the same waits.
"""

from __future__ import annotations

import contextlib
import sys
import uuid
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from bench.infra import NO_SCHEDULER, Infra, free_port, say

SPEED = 3.0
POLL_INITIAL = 0.5
POLL_MAX = 2.0
WAITS = {"poll_initial": POLL_INITIAL, "poll_max": POLL_MAX}


@dataclass(frozen=True)
class Options:
    """Command-line options every benchmark reads.

    Example:
        >>> Options(quick=True).runs_or(5)
        1

    """

    quick: bool = False
    runs: int | None = None
    skip_workers: bool = False

    def runs_or(self, default: int) -> int:
        """`--runs` when given, 1 in quick mode, else `default`."""
        if self.runs is not None:
            return self.runs
        return 1 if self.quick else default

    @property
    def workers(self) -> bool:
        """Whether the PostgreSQL + process-worker setups run (never in quick mode)."""
        return not (self.quick or self.skip_workers)


def policies_job() -> dict[str, Any]:
    """The runner job that saves the `default` NovitaPolicies block (the poll intervals)."""
    return {"kind": "policies", **WAITS}


@contextlib.contextmanager
def scaled_out(
    infra: Infra,
    label: str,
    workers: int,
    flow_env: Mapping[str, str],
    worker_limit: int | None = 4,
) -> Iterator[Any]:
    """`deployments.scale.up`: PostgreSQL-backed server, deployments, `workers` workers.

    Fresh databases (dropped afterwards), a free port, the scheduler off, the workers'
    flow runs pointed at the benchmark's simulator with `flow_env`. Yields the
    `ScaleConfig`; `down` (drain, stop, drop) runs whatever happens.

    Raises:
        RuntimeError: PostgreSQL does not answer, or the set-up did not come up.

    """
    from deployments.scale import ScaleConfig, down, up

    suffix = uuid.uuid4().hex[:8]
    config = ScaleConfig(
        workers=workers,
        port=free_port(),
        prefect_database=f"bench_prefect_{suffix}",
        state_database=f"bench_state_{suffix}",
        data_dir=infra.workdir / f"scale-{label}",
        worker_prefix=f"bench-{label}-{suffix}",
        worker_limit=worker_limit,
        server_extra_env=NO_SCHEDULER,
        flow_run_extra_env={
            "NOVITA_API_BASE_URL": infra.sim.base_url,
            "NOVITA_API_KEY": infra.sim.api_key,
            "PREFECT_TASKS_REFRESH_CACHE": "true",
            **flow_env,
        },
    )
    say(f"scale-up {label}: PostgreSQL-backed server + {workers} worker(s) ...")
    try:
        with contextlib.redirect_stdout(sys.stderr):
            up(config)
        yield config
    finally:
        with contextlib.redirect_stdout(sys.stderr):
            down(config, drop_databases=True, drain_seconds=5)
