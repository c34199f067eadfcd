r"""Run the project at scale on one machine: ``python -m deployments.scale up|down|status``.

``up`` (what ``make scale-up WORKERS=3`` runs), each step skipped when already done, so
running it twice starts nothing twice:

1. PostgreSQL: check it answers; create the databases ``novita_prefect`` (the Prefect
   server's) and ``novita_state`` (the project's store, ``NOVITA_STATE_URL``) if missing;
2. ``prefect server start`` on ``novita_prefect`` (port 4200 by default, no telemetry,
   ``PREFECT_HOME`` under ``data/scale/``) and wait until ``/api/health`` answers;
3. optionally (``--with-simulator``) the Novita simulator with a rate limit, for a trial;
4. the ``novita-process`` work pool; a ``LocalFileSystem`` block on ``data/scale/results``
   made the server's default result storage (every worker's results and caches in one
   place); ``prefect deploy --all`` from the project root;
5. N process workers (``prefect worker start --pool novita-process``) with the environment
   every flow run needs; extra workers from an earlier, bigger ``up`` are stopped;
6. prints the UI URL and the ``export`` lines to run deployments from a shell.

Pids, logs and the settings ``up`` used live under ``data/scale/`` (``run/``, ``logs/``,
``scale.json``); ``down`` stops the workers (two SIGTERMs each), the simulator and the server,
``status`` shows what runs. Databases are kept unless ``down --drop-databases``.

Example::

    python -m deployments.scale up --workers 3 --with-simulator
    export PREFECT_API_URL=http://127.0.0.1:4200/api
    prefect deployment run 'provision-instance/provision-instance' --param name=scale-1 \\
        --param product_name="RTX 4090 24GB" --param template_id=1001 --watch
    python -m deployments.scale down
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import datetime
import json
import os
import socket
import sys
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from deployments.scale_postgres import (
    check_postgres,
    database_url,
    drop_database,
    ensure_database,
    postgres_server_url,
    shown_url,
)
from deployments.scale_prefect import (
    DEFAULT_POOL,
    api_healthy,
    crash_runs,
    deploy_all,
    drain_pool,
    ensure_work_pool,
    online_workers,
    save_result_storage,
    server_argv,
    server_env,
    wait_for_workers,
    wait_until_healthy,
    worker_argv,
    worker_env,
)
from deployments.scale_processes import (
    WORKER_SIGNALS,
    running_pid,
    start_background,
    stop_background,
)

__all__ = ["ScaleConfig", "down", "main", "status", "up"]

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_DATA_DIR = ROOT / "data" / "scale"
SERVER_MARKER = "prefect server start"
SIMULATOR_MARKER = "-m simulator"
SIMULATOR_KEY = "sk_sim_fake_key_for_local_use_only"  # the simulator's public fake key


def say(message: str) -> None:
    """Print one progress line, flushed so it shows while the next step runs."""
    print(message, flush=True)


@dataclass(frozen=True)
class ScaleConfig:
    """Everything ``up`` needs; ``down`` and ``status`` read it back from ``scale.json``.

    Example:
        >>> config = ScaleConfig(port=4300, data_dir=Path("/tmp/scale"))
        >>> config.api_url, config.results_dir
        ('http://127.0.0.1:4300/api', PosixPath('/tmp/scale/results'))

    """

    workers: int = 3
    host: str = "127.0.0.1"
    port: int = 4200
    postgres_url: str | None = None
    """``postgresql://user@host:port`` (no database); None = ``$NOVITA_SCALE_POSTGRES_URL``
    or ``postgresql://postgres@127.0.0.1:5432``."""
    prefect_database: str = "novita_prefect"
    state_database: str = "novita_state"
    data_dir: Path = DEFAULT_DATA_DIR
    project_root: Path = ROOT
    pool: str = DEFAULT_POOL
    worker_prefix: str = "novita-worker"
    poll_seconds: float = 5.0
    worker_limit: int | None = 4
    """Flow runs one worker runs at once (each is a process of ~150-200 MB); None = no
    limit. A worker takes every queued run it may on each poll, so the limit is also what
    spreads a burst of runs over the workers."""
    deploy: bool = True
    with_simulator: bool = False
    simulator_port: int = 8765
    simulator_speed: float = 10.0
    simulator_rate_limit: int = 20
    simulator_latency_ms: float = 0.0
    server_extra_env: Mapping[str, str] = field(default_factory=dict)
    """Extra settings of the server (a test switches the scheduler off)."""
    flow_run_extra_env: Mapping[str, str] = field(default_factory=dict)
    """Extra variables of the workers and their flow runs (win over the rest); not saved."""

    @property
    def api_url(self) -> str:
        """``PREFECT_API_URL`` of the server."""
        return f"http://{self.host}:{self.port}/api"

    @property
    def ui_url(self) -> str:
        """The Prefect UI."""
        return f"http://{self.host}:{self.port}"

    @property
    def home(self) -> Path:
        """``PREFECT_HOME`` of the server, the workers and ``prefect deploy``."""
        return self.data_dir / "prefect-home"

    @property
    def results_dir(self) -> Path:
        """The folder every worker's task results and cache records go to."""
        return self.data_dir / "results"

    @property
    def run_dir(self) -> Path:
        """Pid files."""
        return self.data_dir / "run"

    @property
    def log_dir(self) -> Path:
        """One log per background process, and ``deploy.log``."""
        return self.data_dir / "logs"

    @property
    def prefect_database_url(self) -> str:
        """``PREFECT_API_DATABASE_CONNECTION_URL`` of the server."""
        return database_url(postgres_server_url(self.postgres_url), self.prefect_database)

    @property
    def state_url(self) -> str:
        """``NOVITA_STATE_URL`` of every flow run."""
        return database_url(postgres_server_url(self.postgres_url), self.state_database)

    @property
    def simulator_root(self) -> str:
        """Where the simulator serves (API under ``/gpu-instance/openapi/v1``)."""
        return f"http://127.0.0.1:{self.simulator_port}"

    def worker_names(self) -> list[str]:
        """``novita-worker-1`` ... ``novita-worker-N``.

        Example:
            >>> ScaleConfig(workers=2).worker_names()
            ['novita-worker-1', 'novita-worker-2']

        """
        return [f"{self.worker_prefix}-{i}" for i in range(1, self.workers + 1)]

    def save(self) -> None:
        """Write ``scale.json`` (no secrets in it: the URLs carry none by default)."""
        self.data_dir.mkdir(parents=True, exist_ok=True)
        data = {
            f.name: getattr(self, f.name)
            for f in dataclasses.fields(self)
            if f.name not in ("server_extra_env", "flow_run_extra_env")
        }
        if data["postgres_url"] and postgres_server_url(data["postgres_url"]).password:
            data["postgres_url"] = None  # never write a password to disk
        data = {k: str(v) if isinstance(v, Path) else v for k, v in data.items()}
        (self.data_dir / "scale.json").write_text(json.dumps(data, indent=1) + "\n")

    @classmethod
    def load(cls, data_dir: Path = DEFAULT_DATA_DIR) -> ScaleConfig:
        """The settings of the last ``up`` in ``data_dir``, else the defaults.

        Example:
            >>> ScaleConfig.load(Path("/nonexistent")).port
            4200

        """
        try:
            data: dict[str, Any] = json.loads((data_dir / "scale.json").read_text())
        except (OSError, ValueError):
            return cls(data_dir=data_dir)
        known = {f.name for f in dataclasses.fields(cls)}
        data = {k: v for k, v in data.items() if k in known}
        for key in ("data_dir", "project_root"):
            if key in data:
                data[key] = Path(data[key])
        return cls(**(data | {"data_dir": data_dir}))


def _worker_marker(name: str) -> str:
    return f"--name {name}"


def _port_free(host: str, port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            return False
    return True


# -- up ------------------------------------------------------------------------------------


def prepare_databases(config: ScaleConfig) -> None:
    """Check PostgreSQL answers and create the Prefect and the store databases if missing.

    Raises:
        PostgresUnavailableError: PostgreSQL did not answer (the message says what to do).

    Example:
        ```python
        prepare_databases(ScaleConfig())
        ```

    """

    async def run() -> list[tuple[str, bool]]:
        server = postgres_server_url(config.postgres_url)
        await check_postgres(server)
        return [
            (name, await ensure_database(server, name))
            for name in (config.prefect_database, config.state_database)
        ]

    for name, created in asyncio.run(run()):
        say(f"postgres: database {name} {'created' if created else 'exists'}")


def start_server(config: ScaleConfig, env: Mapping[str, str] | None = None) -> float:
    """Start the Prefect server unless this data folder's server already runs; wait healthy.

    Returns:
        Seconds until healthy (0 when it was already up).

    Raises:
        RuntimeError: Another server (not ours) holds the port, or ours did not come up.

    Example:
        ```python
        seconds = start_server(ScaleConfig(port=4300))
        ```

    """
    run_dir = config.run_dir
    pid = running_pid(run_dir, "server", SERVER_MARKER)
    if pid is not None:
        running = ScaleConfig.load(config.data_dir)
        if running.port != config.port:
            raise RuntimeError(
                f"this folder's Prefect server (pid {pid}) serves port {running.port}, not "
                f"{config.port}: run `python -m deployments.scale down` first"
            )
        if api_healthy(config.api_url):
            say(f"prefect server: already running (pid {pid}) at {config.api_url}")
            return 0.0
        return wait_until_healthy(
            config.api_url, alive=lambda: running_pid(run_dir, "server", SERVER_MARKER) is not None
        )
    if api_healthy(config.api_url) or not _port_free(config.host, config.port):
        raise RuntimeError(
            f"port {config.port} is taken by a process this folder did not start "
            "(another Prefect server? `make up`?): stop it or pass --port"
        )
    config.home.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    pid = start_background(
        "server",
        server_argv(config.host, config.port),
        env=server_env(
            os.environ if env is None else env,
            database_url=config.prefect_database_url,
            home=config.home,
            api_url=config.api_url,
            extra=config.server_extra_env,
        ),
        cwd=config.data_dir,
        run_dir=run_dir,
        log_dir=config.log_dir,
    )
    say(f"prefect server: starting (pid {pid}) on PostgreSQL {config.prefect_database} ...")
    wait_until_healthy(
        config.api_url,
        timeout=180,
        alive=lambda: running_pid(run_dir, "server", SERVER_MARKER) is not None,
    )
    seconds = time.monotonic() - started
    say(f"prefect server: healthy at {config.api_url} after {seconds:.1f} s")
    return seconds


def start_simulator(config: ScaleConfig) -> None:
    """Start ``python -m simulator`` with the configured rate limit, unless it runs.

    Example:
        ```python
        start_simulator(ScaleConfig(with_simulator=True, simulator_port=8766))
        ```

    """
    pid = running_pid(config.run_dir, "simulator", SIMULATOR_MARKER)
    if pid is not None:
        say(f"simulator: already running (pid {pid}) at {config.simulator_root}")
        return
    argv = [sys.executable, "-m", "simulator", "--port", str(config.simulator_port)]
    argv += ["--speed", f"{config.simulator_speed:g}", "--log-level", "warning"]
    argv += ["--rate-limit", str(config.simulator_rate_limit)]
    if config.simulator_latency_ms:
        argv += ["--latency-ms", f"{config.simulator_latency_ms:g}"]
    env = {k: v for k, v in os.environ.items() if k != "NOVITA_SIMULATOR_API_KEY"}
    pid = start_background(
        "simulator",
        argv,
        env=env,
        cwd=config.project_root,
        run_dir=config.run_dir,
        log_dir=config.log_dir,
    )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{config.simulator_root}/_admin/state", timeout=1).status_code == 200:
                say(
                    f"simulator: {config.simulator_root}/gpu-instance/openapi/v1 (pid {pid}, "
                    f"speed x{config.simulator_speed:g}, "
                    f"{config.simulator_rate_limit} requests/s)"
                )
                return
        except httpx.HTTPError:
            pass
        if running_pid(config.run_dir, "simulator", SIMULATOR_MARKER) is None:
            break
        time.sleep(0.3)
    raise RuntimeError(f"the simulator did not start; see {config.log_dir / 'simulator.log'}")


def flow_run_env(config: ScaleConfig, results_block: str | None) -> dict[str, str]:
    """The workers' environment (inherited by every flow run) for this configuration.

    Example:
        >>> env = flow_run_env(ScaleConfig(with_simulator=True), None)
        >>> env["NOVITA_API_BASE_URL"]
        'http://127.0.0.1:8765/gpu-instance/openapi/v1'

    """
    extra: dict[str, str] = {}
    if config.with_simulator:
        extra = {
            "NOVITA_API_BASE_URL": f"{config.simulator_root}/gpu-instance/openapi/v1",
            "NOVITA_API_KEY": SIMULATOR_KEY,
        }
    extra |= config.flow_run_extra_env
    return worker_env(
        os.environ,
        api_url=config.api_url,
        state_url=config.state_url,
        home=config.home,
        results_folder=config.results_dir.resolve(),
        results_block=results_block,
        project_root=config.project_root,
        poll_seconds=config.poll_seconds,
        extra=extra,
    )


def converge_workers(config: ScaleConfig, env: Mapping[str, str]) -> list[str]:
    """Run exactly ``config.workers`` workers: start the missing, stop the extra ones.

    Returns:
        The names of the workers started now.

    Example:
        ```python
        converge_workers(ScaleConfig(workers=2), flow_run_env(ScaleConfig(), None))
        ```

    """
    wanted = config.worker_names()
    started = []
    for name in wanted:
        pid = running_pid(config.run_dir, name, _worker_marker(name))
        if pid is not None:
            continue
        argv = worker_argv(config.pool, name, config.worker_limit)
        pid = start_background(
            name,
            argv,
            env=env,
            cwd=config.project_root,
            run_dir=config.run_dir,
            log_dir=config.log_dir,
        )
        started.append(name)
    for path in sorted(config.run_dir.glob(f"{config.worker_prefix}-*.pid")):
        name = path.stem
        if name not in wanted and stop_background(
            config.run_dir, name, _worker_marker(name), WORKER_SIGNALS
        ):
            say(f"workers: stopped {name} (more than {config.workers} were running)")
    return started


def up(config: ScaleConfig) -> dict[str, float]:
    """Bring the whole set-up up (idempotent); returns step timings in seconds.

    Example:
        ```python
        timings = up(ScaleConfig(workers=3, with_simulator=True))
        ```

    """
    timings: dict[str, float] = {}
    config.data_dir.mkdir(parents=True, exist_ok=True)
    prepare_databases(config)
    timings["server"] = start_server(config)
    config.save()
    if config.with_simulator:
        start_simulator(config)
    elif "NOVITA_API_KEY" not in {**os.environ, **config.flow_run_extra_env}:
        say(
            "note: NOVITA_API_KEY is not set: flow runs use a saved NovitaCredentials block "
            "'default' (or pass --with-simulator for a local trial)"
        )

    async def pool_and_results() -> tuple[str, str]:
        outcome = await ensure_work_pool(config.api_url, config.pool)
        slug = await save_result_storage(config.api_url, config.results_dir)
        return outcome, slug

    outcome, results_block = asyncio.run(pool_and_results())
    say(f"work pool {config.pool}: {outcome}")
    say(f"results: {config.results_dir} (block {results_block}, the server's default)")
    env = flow_run_env(config, results_block)
    started_at = time.monotonic()
    # Heartbeats are stamped by the server's clock: same machine, a second of slack is plenty.
    since = datetime.datetime.now(datetime.UTC) - datetime.timedelta(seconds=1)
    started = converge_workers(config, env)
    if config.deploy:
        deploy_env = {**env, "PREFECT_API_URL": config.api_url}
        timings["deploy"] = deploy_all(
            config.project_root, deploy_env, config.log_dir / "deploy.log"
        )
        say(f"deployments: `prefect deploy --all` in {timings['deploy']:.1f} s")
    asyncio.run(
        wait_for_workers(
            config.api_url, config.worker_names(), config.pool, fresh=started, since=since
        )
    )
    timings["workers"] = time.monotonic() - started_at
    say(
        f"workers: {config.workers} online on {config.pool} "
        f"({len(started)} started now, {timings['workers']:.1f} s)"
    )
    print_exports(config)
    return timings


def print_exports(config: ScaleConfig) -> None:
    """Print the UI address and the lines a user exports to run deployments."""
    say("")
    say(f"Prefect UI: {config.ui_url}")
    say("Run deployments from a shell:")
    say(f"  export PREFECT_API_URL={config.api_url}")
    say(f"  export NOVITA_STATE_URL={shown_url(config.state_url)}")
    if config.with_simulator:
        say(f"  export NOVITA_API_BASE_URL={config.simulator_root}/gpu-instance/openapi/v1")
        say(f"  export NOVITA_API_KEY={SIMULATOR_KEY}")
    say(
        "  .venv/bin/prefect deployment run 'provision-instance/provision-instance' "
        '--param name=scale-1 --param product_name="RTX 4090 24GB" --param template_id=1001 '
        "--watch"
    )
    if config.data_dir == DEFAULT_DATA_DIR:
        say("Stop everything: make scale-down")
    else:
        say(f"Stop everything: python -m deployments.scale down --data-dir {config.data_dir}")


# -- down / status -------------------------------------------------------------------------


def down(
    config: ScaleConfig, drop_databases: bool = False, drain_seconds: float = 60.0
) -> list[str]:
    """Drain the pool, stop the workers, then the simulator, then the server.

    Draining pauses the work pool (``up`` resumes it) and waits up to ``drain_seconds`` for
    the runs in flight to end; runs still going then lose their process with their worker
    and are marked Crashed, rather than showing Running forever.

    Returns:
        What was stopped.

    Example:
        ```python
        down(ScaleConfig.load())
        ```

    """
    leftovers: list[str] = []
    if api_healthy(config.api_url):
        if drain_seconds:
            say(f"draining {config.pool}: no new runs; waiting up to {drain_seconds:g} s ...")
        leftovers = asyncio.run(drain_pool(config.api_url, config.pool, drain_seconds))
    stopped = []
    for path in sorted(config.run_dir.glob(f"{config.worker_prefix}-*.pid")):
        name = path.stem
        if stop_background(config.run_dir, name, _worker_marker(name), WORKER_SIGNALS):
            stopped.append(name)
    if leftovers and api_healthy(config.api_url):
        asyncio.run(crash_runs(config.api_url, leftovers, "scale-down stopped its worker"))
        say(f"marked Crashed: {len(leftovers)} run(s) still in flight when the workers stopped")
    if stop_background(config.run_dir, "simulator", SIMULATOR_MARKER):
        stopped.append("simulator")
    if stop_background(config.run_dir, "server", SERVER_MARKER, grace=20):
        stopped.append("server")
    say(f"stopped: {', '.join(stopped) if stopped else 'nothing was running'}")
    if drop_databases:

        async def drop() -> None:
            server = postgres_server_url(config.postgres_url)
            for name in (config.prefect_database, config.state_database):
                dropped = await drop_database(server, name)
                say(f"postgres: database {name} {'dropped' if dropped else 'did not exist'}")

        asyncio.run(drop())
    return stopped


def status(config: ScaleConfig) -> dict[str, Any]:
    """Print and return what runs: server, simulator, workers (pid and API view).

    Example:
        ```python
        status(ScaleConfig.load())["server"]["healthy"]
        ```

    """
    server_pid = running_pid(config.run_dir, "server", SERVER_MARKER)
    healthy = api_healthy(config.api_url)
    report: dict[str, Any] = {
        "server": {"pid": server_pid, "healthy": healthy, "url": config.api_url},
        "simulator": {"pid": running_pid(config.run_dir, "simulator", SIMULATOR_MARKER)},
        "workers": {},
    }
    seen = asyncio.run(online_workers(config.api_url, config.pool)) if healthy else {}
    names = sorted(
        {p.stem for p in config.run_dir.glob(f"{config.worker_prefix}-*.pid")} | set(seen)
    )
    for name in names:
        report["workers"][name] = {
            "pid": running_pid(config.run_dir, name, _worker_marker(name)),
            "api": seen.get(name, "unknown"),
        }
    say(
        f"server: {'healthy' if healthy else 'not answering'} at {config.api_url} "
        f"(pid {server_pid or '-'}, database {config.prefect_database})"
    )
    sim_pid = report["simulator"]["pid"]
    if sim_pid or config.with_simulator:
        say(f"simulator: pid {sim_pid or '-'} at {config.simulator_root}")
    for name, info in report["workers"].items():
        say(f"{name}: pid {info['pid'] or '-'}, {info['api'].lower()} on {config.pool}")
    if not names:
        say("workers: none")
    return report


# -- command line --------------------------------------------------------------------------


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Parse ``up`` / ``down`` / ``status`` and their options.

    Example:
        >>> parse_args(["up", "--workers", "2", "--with-simulator"]).workers
        2

    """
    parser = argparse.ArgumentParser(
        prog="python -m deployments.scale",
        description="Prefect server on PostgreSQL + N process workers, on this machine.",
    )
    sub = parser.add_subparsers(dest="command", required=True)
    up_parser = sub.add_parser("up", help="start (or complete) the set-up; idempotent")
    down_parser = sub.add_parser("down", help="stop workers, simulator and server")
    status_parser = sub.add_parser("status", help="what runs")
    for each in (up_parser, down_parser, status_parser):
        each.add_argument(
            "--data-dir", type=Path, default=DEFAULT_DATA_DIR, help="pids, logs, results, home"
        )
    defaults = ScaleConfig()
    up_parser.add_argument("--workers", type=int, default=defaults.workers)
    up_parser.add_argument("--port", type=int, default=defaults.port, help="Prefect server port")
    up_parser.add_argument(
        "--postgres-url",
        default=None,
        help="postgresql://user@host:port (default $NOVITA_SCALE_POSTGRES_URL or local)",
    )
    up_parser.add_argument("--prefect-db", default=defaults.prefect_database)
    up_parser.add_argument("--state-db", default=defaults.state_database)
    up_parser.add_argument(
        "--poll-seconds", type=float, default=defaults.poll_seconds, help="worker poll interval"
    )
    up_parser.add_argument(
        "--worker-limit",
        type=int,
        default=defaults.worker_limit,
        help=f"concurrent flow runs per worker (default {defaults.worker_limit}; 0 = no limit)",
    )
    up_parser.add_argument(
        "--skip-deploy", action="store_true", help="do not run `prefect deploy --all`"
    )
    up_parser.add_argument(
        "--with-simulator", action="store_true", help="also serve the Novita simulator"
    )
    up_parser.add_argument("--simulator-port", type=int, default=defaults.simulator_port)
    up_parser.add_argument("--simulator-speed", type=float, default=defaults.simulator_speed)
    up_parser.add_argument(
        "--rate-limit",
        type=int,
        default=defaults.simulator_rate_limit,
        help="the simulator's requests per second",
    )
    up_parser.add_argument("--latency-ms", type=float, default=0.0, help="simulator latency")
    down_parser.add_argument(
        "--drop-databases", action="store_true", help="also drop both PostgreSQL databases"
    )
    down_parser.add_argument(
        "--drain-seconds",
        type=float,
        default=60.0,
        help="wait this long for runs in flight before stopping workers (default 60)",
    )
    args = parser.parse_args(argv)
    if args.command == "up" and args.workers < 0:
        parser.error("--workers must be >= 0")
    return args


def main(argv: list[str] | None = None) -> int:
    """Run one subcommand; returns the exit code (1 with a one-line reason on failure)."""
    args = parse_args(argv)
    data_dir = args.data_dir.resolve()
    try:
        if args.command == "up":
            config = ScaleConfig(
                workers=args.workers,
                port=args.port,
                postgres_url=args.postgres_url,
                prefect_database=args.prefect_db,
                state_database=args.state_db,
                data_dir=data_dir,
                poll_seconds=args.poll_seconds,
                worker_limit=args.worker_limit or None,
                deploy=not args.skip_deploy,
                with_simulator=args.with_simulator,
                simulator_port=args.simulator_port,
                simulator_speed=args.simulator_speed,
                simulator_rate_limit=args.rate_limit,
                simulator_latency_ms=args.latency_ms,
            )
            up(config)
        elif args.command == "down":
            down(
                ScaleConfig.load(data_dir),
                drop_databases=args.drop_databases,
                drain_seconds=args.drain_seconds,
            )
        else:
            status(ScaleConfig.load(data_dir))
    except (RuntimeError, ValueError) as exc:
        print(f"scale {args.command}: {exc}", file=sys.stderr, flush=True)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
