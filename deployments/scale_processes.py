"""Background processes with pid files: start detached, find again later, stop for sure.

``make scale-up`` returns while the Prefect server, the workers and (optionally) the
simulator keep running, and ``make scale-down`` is a separate command, so each process is
remembered in ``<run dir>/<name>.pid``, logs to ``<log dir>/<name>.log`` and runs in its
own session (process group), so stopping it also stops what it started (a worker's flow-run
subprocesses, the server's uvicorn).

A pid file is trusted only while that pid is alive *and* its command line still contains a
marker (e.g. ``worker start``): a pid reused by an unrelated process after a reboot is never
signalled. Stopping sends each signal of a sequence to the group and waits a grace period
between them; a Prefect worker ignores its first SIGTERM, hence ``(SIGTERM, SIGTERM)``.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from collections.abc import Mapping, Sequence
from pathlib import Path

__all__ = [
    "WORKER_SIGNALS",
    "is_running",
    "pid_file",
    "running_pid",
    "start_background",
    "stop_background",
]

WORKER_SIGNALS = (signal.SIGTERM, signal.SIGTERM)
"""A Prefect worker ignores the first SIGTERM (measured): it needs a second one."""


def pid_file(run_dir: Path, name: str) -> Path:
    """Where the pid of background process ``name`` is kept.

    Example:
        >>> pid_file(Path("/tmp/run"), "worker-1").name
        'worker-1.pid'

    """
    return run_dir / f"{name}.pid"


def is_running(pid: int, marker: str | None = None) -> bool:
    """Whether ``pid`` is a live process (not a zombie) whose command line has ``marker``.

    Example:
        >>> is_running(os.getpid())
        True

    """
    proc = Path(f"/proc/{pid}")
    try:
        # The state letter follows the parenthesised command name; Z = zombie (exited).
        if proc.joinpath("stat").read_text().rpartition(")")[2].split()[0] == "Z":
            return False
        cmdline = proc.joinpath("cmdline").read_bytes().replace(b"\0", b" ").decode()
    except (OSError, IndexError):
        return False
    return marker is None or marker in cmdline


def running_pid(run_dir: Path, name: str, marker: str) -> int | None:
    """The pid of background process ``name`` if it still runs; removes a stale pid file.

    Example:
        >>> running_pid(Path("/nonexistent"), "server", "prefect") is None
        True

    """
    path = pid_file(run_dir, name)
    try:
        pid = int(path.read_text().strip())
    except (OSError, ValueError):
        return None
    if is_running(pid, marker):
        return pid
    path.unlink(missing_ok=True)
    return None


def start_background(
    name: str,
    argv: Sequence[str],
    *,
    env: Mapping[str, str],
    cwd: Path,
    run_dir: Path,
    log_dir: Path,
) -> int:
    """Start ``argv`` detached in its own session, logging to ``<log_dir>/<name>.log``.

    The log is appended to (a restart keeps the previous run's lines); the pid is written
    to ``<run_dir>/<name>.pid``.

    Returns:
        The pid (also the process group id).

    Example:
        ```python
        pid = start_background("worker-1", ["prefect", "worker", "start", "--pool", "p"],
                               env=os.environ, cwd=root, run_dir=run, log_dir=logs)
        ```

    """
    run_dir.mkdir(parents=True, exist_ok=True)
    log_dir.mkdir(parents=True, exist_ok=True)
    with (log_dir / f"{name}.log").open("ab") as log:
        process = subprocess.Popen(
            list(argv),
            cwd=cwd,
            env=dict(env),
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    pid_file(run_dir, name).write_text(f"{process.pid}\n")
    # The Popen object is dropped on purpose: the process outlives us. Python would warn
    # "subprocess still running" when it is collected, so mark it as reaped by us later.
    process.returncode = 0
    return process.pid


def stop_background(
    run_dir: Path,
    name: str,
    marker: str,
    signals: Sequence[signal.Signals] = (signal.SIGTERM,),
    grace: float = 15.0,
) -> bool:
    """Stop background process ``name``: each signal in turn, then SIGKILL as a last resort.

    Args:
        run_dir: Where its pid file is.
        name: The name it was started under.
        marker: A piece of its command line (see :func:`is_running`).
        signals: Sent to its process group in order, waiting ``grace`` seconds after each
            for it to exit (a Prefect worker needs two SIGTERMs).
        grace: Seconds to wait after each signal.

    Returns:
        True when a running process was stopped, False when none was running.

    Example:
        ```python
        stop_background(run_dir, "worker-1", "worker start", WORKER_SIGNALS)
        ```

    """
    pid = running_pid(run_dir, name, marker)
    if pid is None:
        return False
    last = len(signals) - 1
    for index, sig in enumerate((*signals, signal.SIGKILL)):
        try:
            os.killpg(pid, sig)
        except ProcessLookupError:
            break
        # Only the last signal of the sequence gets the whole grace: the earlier ones are
        # expected to be ignored (a worker's first SIGTERM), and SIGKILL needs no grace.
        wait = grace if index == last else min(grace, 1.0 if index < last else 5.0)
        if _wait_for_exit(pid, wait):
            break
    pid_file(run_dir, name).unlink(missing_ok=True)
    return True


def _wait_for_exit(pid: int, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        _reap(pid)
        if not is_running(pid):
            return True
        time.sleep(0.1)
    return False


def _reap(pid: int) -> None:
    # When we started the process ourselves (tests), it is our child: collect its exit
    # status, or it stays a zombie. For anyone else's pid this is a no-op.
    try:
        os.waitpid(pid, os.WNOHANG)
    except ChildProcessError:
        pass
