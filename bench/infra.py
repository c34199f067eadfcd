"""What the benchmarks start and always stop: the simulator, Prefect servers, runner processes.

Every process is started in its own session (process group) and remembered; `stop_started`
stops them all, newest first, and runs at interpreter exit, on SIGTERM and after Ctrl-C, so a
failed or interrupted benchmark leaves nothing behind. Only processes started here are ever
signalled, by their own process-group id.

- `Simulator`: `python -m simulator` on a free port, in its own process (an in-process one
  would compete with the flows for the GIL);
- `PrefectServer`: one SQLite-backed `prefect server start` on a free port with a private
  `PREFECT_HOME`, no telemetry and no scheduler (no scheduled sweep runs into a benchmark);
- `run_jobs`: one `python -m bench.runner` subprocess executing measured jobs with the
  environment a setup needs (`PREFECT_API_URL` set before Prefect is imported); against the
  SQLite-backed server it first waits until the server is idle (`PrefectServer.settle`), so
  a row never pays for the events and logs the previous row left it to write.
"""

from __future__ import annotations

import atexit
import json
import os
import platform
import re
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from bench.simadmin import SIM_KEY, SimAdmin

ROOT = Path(__file__).resolve().parents[1]
PYTHON = sys.executable
QUIET = {"PREFECT_SERVER_ANALYTICS_ENABLED": "false", "DO_NOT_TRACK": "1"}
NO_SCHEDULER = {"PREFECT_SERVER_SERVICES_SCHEDULER_ENABLED": "false"}

_STARTED: list[Background] = []


def free_port() -> int:
    """A TCP port nobody listens on right now (never 4200, the demo's)."""
    while True:
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            port = sock.getsockname()[1]
        if port != 4200:
            return port


def say(message: str) -> None:
    """One progress line on stderr (the tables go to stdout)."""
    print(message, file=sys.stderr, flush=True)


class Background:
    """A process we started, in its own process group, logging to a file."""

    def __init__(
        self, name: str, argv: Sequence[str], env: Mapping[str, str], log_path: Path
    ) -> None:
        self.name = name
        self.log_path = log_path
        log_path.parent.mkdir(parents=True, exist_ok=True)
        with log_path.open("ab") as log:
            self.proc = subprocess.Popen(
                list(argv),
                cwd=ROOT,
                env=dict(env),
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        _STARTED.append(self)

    @property
    def pid(self) -> int:
        """The process id (also its process-group id)."""
        return self.proc.pid

    def alive(self) -> bool:
        """Whether it still runs."""
        return self.proc.poll() is None

    def log_tail(self, lines: int = 30) -> str:
        """The end of its log, for error messages."""
        try:
            text = self.log_path.read_text(errors="replace")
        except OSError:
            return ""
        return "\n".join(text.splitlines()[-lines:])

    def stop(self, signals: Sequence[int] = (signal.SIGTERM,), grace: float = 10.0) -> None:
        """Each signal to its process group in turn, then SIGKILL; waits for it to end."""
        if self in _STARTED:
            _STARTED.remove(self)
        for sig in (*signals, signal.SIGKILL):
            if not self.alive():
                break
            try:
                os.killpg(self.pid, sig)
            except ProcessLookupError:
                break
            try:
                self.proc.wait(timeout=grace if sig != signal.SIGKILL else 5)
            except subprocess.TimeoutExpired:
                continue
        # Children that outlived the leader (a served flow run) share its group id.
        try:
            os.killpg(self.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass


def stop_started() -> None:
    """Stop every process started here and still running, newest first."""
    while _STARTED:
        _STARTED[-1].stop()


def _on_sigterm(signum: int, frame: Any) -> None:
    raise SystemExit(128 + signum)


def install_cleanup() -> None:
    """Stop everything we started at exit, and turn SIGTERM into a clean exit."""
    atexit.register(stop_started)
    signal.signal(signal.SIGTERM, _on_sigterm)


class Simulator:
    """`python -m simulator` in its own process, on a free port.

    Example:
        ```python
        sim = Simulator(workdir, speed=3)
        sim.admin.prepare(rate_limit=20, latency_ms=50)
        ```

    """

    def __init__(self, workdir: Path, speed: float) -> None:
        self.speed = speed
        argv = [PYTHON, "-m", "simulator", "--port", "0", "--speed", f"{speed:g}"]
        argv += ["--log-level", "warning"]
        env = {k: v for k, v in os.environ.items() if k != "NOVITA_SIMULATOR_API_KEY"}
        self.process = Background("simulator", argv, env, workdir / "logs" / "simulator.log")
        self.root_url = self._wait_for_url()
        self.api_key = SIM_KEY
        self.admin = SimAdmin(self.root_url)

    def _wait_for_url(self) -> str:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            match = re.search(r"base URL (http://[\d.:]+)/", self.process.log_tail(5))
            if match:
                return match[1]
            if not self.process.alive():
                break
            time.sleep(0.1)
        raise RuntimeError(f"the simulator did not start:\n{self.process.log_tail()}")

    @property
    def base_url(self) -> str:
        """`NOVITA_API_BASE_URL` of this simulator."""
        return self.admin.base_url

    def stop(self) -> None:
        """Stop the simulator process."""
        self.admin.close()
        self.process.stop()


def api_healthy(api_url: str) -> bool:
    """Whether `<api_url>/health` answers 200."""
    try:
        return httpx.get(f"{api_url}/health", timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


class PrefectServer:
    """One SQLite-backed `prefect server start` with a private home, on a free port.

    Example:
        ```python
        server = PrefectServer(workdir / "sqlite-server")
        env = {"PREFECT_API_URL": server.api_url}
        ```

    """

    def __init__(self, folder: Path, extra_env: Mapping[str, str] | None = None) -> None:
        self.folder = folder
        self.port = free_port()
        self.api_url = f"http://127.0.0.1:{self.port}/api"
        home = folder / "prefect-home"
        home.mkdir(parents=True, exist_ok=True)
        env = {k: v for k, v in os.environ.items() if not k.startswith(("PREFECT_", "NOVITA_"))}
        env |= QUIET | NO_SCHEDULER | dict(extra_env or {})
        env |= {"PREFECT_HOME": str(home), "PREFECT_UI_API_URL": self.api_url}
        argv = [str(Path(PYTHON).with_name("prefect")), "server", "start"]
        argv += ["--host", "127.0.0.1", "--port", str(self.port)]
        started = time.monotonic()
        self.process = Background("prefect-server", argv, env, folder / "server.log")
        while not api_healthy(self.api_url):
            if not self.process.alive() or time.monotonic() - started > 180:
                self.process.stop()
                raise RuntimeError(f"the Prefect server did not start:\n{self.process.log_tail()}")
            time.sleep(0.5)
        self.start_seconds = time.monotonic() - started

    def settle(self, idle_share: float = 0.1, within: float = 120.0) -> float:
        """Wait until the server is idle (it keeps writing events and logs after a burst).

        A SQLite-backed server catches up for a long time after a big fleet; the next row
        measured while it does would pay for the previous one. Idle = its processes used
        less than `idle_share` of one core over one second.

        Returns:
            Seconds waited.

        """
        started = time.monotonic()
        last = _group_cpu_seconds(self.process.pid)
        while time.monotonic() - started < within:
            time.sleep(1.0)
            now = _group_cpu_seconds(self.process.pid)
            if now - last < idle_share:
                break
            last = now
        return time.monotonic() - started

    def stop(self) -> None:
        """Stop the server."""
        self.process.stop(grace=20)


def _group_cpu_seconds(pgid: int) -> float:
    """CPU seconds (user + system) used so far by the processes of one process group."""
    tick = os.sysconf("SC_CLK_TCK")
    total = 0.0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rpartition(")")[2].split()
        except OSError:
            continue
        # after the command: state, ppid, pgrp, ... utime is field 14, stime 15 (1-based)
        if int(fields[2]) == pgid:
            total += (int(fields[11]) + int(fields[12])) / tick
    return total


@dataclass
class Infra:
    """The simulator and the SQLite-backed Prefect server shared by the benchmarks of a run.

    The server starts on first use; `close` stops both.
    """

    workdir: Path
    speed: float
    settle: bool = True
    """Before each run against the SQLite-backed server, wait until it is idle."""
    sim: Simulator = field(init=False)
    _server: PrefectServer | None = None

    def __post_init__(self) -> None:
        self.sim = Simulator(self.workdir, self.speed)

    def server(self) -> PrefectServer:
        """The SQLite-backed Prefect server (started now if it is not yet)."""
        if self._server is None:
            say("starting a SQLite-backed Prefect server ...")
            self._server = PrefectServer(self.workdir / "sqlite-server")
            say(f"  healthy after {self._server.start_seconds:.1f} s at {self._server.api_url}")
        return self._server

    def close(self) -> None:
        """Stop the server and the simulator."""
        if self._server is not None:
            self._server.stop()
            self._server = None
        self.sim.stop()


def make_workdir() -> Path:
    """A fresh temporary folder for one benchmark run (logs, homes, state databases)."""
    return Path(tempfile.mkdtemp(prefix="novita-bench-"))


def runner_env(
    infra: Infra,
    *,
    api_url: str | None,
    state_url: str | None,
    rate_limit: str | None = None,
    home: Path | None = None,
    extra: Mapping[str, str] | None = None,
) -> dict[str, str]:
    """The environment of a runner process: Prefect API, Novita simulator, store, budget.

    `PREFECT_TASKS_REFRESH_CACHE` makes every cached Novita read really call Novita, so the
    project makes the same calls as the bare script on every run (a cold cache).
    """
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PREFECT_", "NOVITA_"))}
    env |= QUIET | {
        "PREFECT_HOME": str(home or infra.workdir / "client-home"),
        "PREFECT_TASKS_REFRESH_CACHE": "true",
        "NOVITA_API_KEY": infra.sim.api_key,
        "NOVITA_API_BASE_URL": infra.sim.base_url,
        "PYTHONPATH": str(ROOT),
    }
    if api_url:
        env["PREFECT_API_URL"] = api_url
    if state_url:
        env["NOVITA_STATE_URL"] = state_url
    if rate_limit:
        env["NOVITA_RATE_LIMIT"] = rate_limit
    return env | dict(extra or {})


def run_jobs(
    infra: Infra,
    jobs: list[dict[str, Any]],
    env: Mapping[str, str],
    label: str,
    timeout: float = 1800,
) -> list[dict[str, Any]]:
    """Run `jobs` in one `python -m bench.runner` process; returns one result per job.

    Raises:
        RuntimeError: The runner failed (the message ends with its log).

    """
    server = infra._server
    if infra.settle and server is not None and env.get("PREFECT_API_URL") == server.api_url:
        waited = server.settle()
        if waited > 2:
            say(f"  waited {waited:.0f} s for the Prefect server to go idle")
    folder = infra.workdir / "runs"
    folder.mkdir(parents=True, exist_ok=True)
    stem = f"{len(list(folder.glob('*.spec.json'))):03d}-{label}"
    spec_path, out_path = folder / f"{stem}.spec.json", folder / f"{stem}.out.json"
    spec = {"admin_url": infra.sim.root_url, "jobs": jobs}
    spec_path.write_text(json.dumps(spec, indent=1))
    proc = Background(
        f"runner-{label}",
        [PYTHON, "-m", "bench.runner", str(spec_path), str(out_path)],
        env,
        folder / f"{stem}.log",
    )
    try:
        proc.proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.stop()
        raise RuntimeError(
            f"runner {label} timed out after {timeout:g} s:\n{proc.log_tail()}"
        ) from None
    finally:
        proc.stop()
    if proc.proc.returncode != 0 or not out_path.exists():
        raise RuntimeError(
            f"runner {label} failed (exit {proc.proc.returncode}):\n{proc.log_tail(40)}"
        )
    return json.loads(out_path.read_text())["results"]


def machine_info() -> dict[str, Any]:
    """Cores, CPU model, memory, load, Python and Prefect versions: the machine measured."""
    model = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    memory_gb = None
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal"):
                memory_gb = round(int(line.split()[1]) / 1024 / 1024, 1)
    except OSError:
        pass
    try:
        from importlib.metadata import version

        prefect_version = version("prefect")
    except Exception:
        prefect_version = "?"
    return {
        "cores": os.cpu_count(),
        "cpu": model,
        "memory_gb": memory_gb,
        "load_average": [round(x, 2) for x in os.getloadavg()],
        "python": platform.python_version(),
        "prefect": prefect_version,
        "platform": platform.platform(),
    }
