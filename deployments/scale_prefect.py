"""The Prefect side of running at scale: server, work pool, shared results, deploy, workers.

Building blocks that :mod:`deployments.scale` (``make scale-up``) and the scale-out test put
together. Each takes what it needs as arguments (URLs, folders), so a test can run a second,
private set-up next to a user's:

- :func:`server_env` / :func:`server_argv` / :func:`wait_until_healthy`: ``prefect server
  start`` on PostgreSQL, without telemetry;
- :func:`ensure_work_pool`: the ``process`` pool the deployments in ``prefect.yaml`` name;
- :func:`save_result_storage`: one ``LocalFileSystem`` block on a folder every worker
  shares, made the server's default result storage;
- :func:`deploy_all`: ``prefect --no-prompt deploy --all`` from the project root
  (idempotent);
- :func:`worker_env` / :func:`worker_argv` / :func:`online_workers`: process workers and
  the environment every flow run needs.

Prefect is imported lazily (``import prefect`` costs seconds), so ``scale status`` and
``scale down`` stay quick.
"""

from __future__ import annotations

import asyncio
import datetime
import os
import subprocess
import sys
import time
from collections.abc import Callable, Collection, Mapping
from pathlib import Path
from typing import Any

import httpx

__all__ = [
    "DEFAULT_POOL",
    "RESULTS_BLOCK",
    "api_healthy",
    "crash_runs",
    "deploy_all",
    "drain_pool",
    "ensure_work_pool",
    "online_workers",
    "prefect_executable",
    "save_result_storage",
    "server_argv",
    "server_env",
    "wait_for_workers",
    "wait_until_healthy",
    "worker_argv",
    "worker_env",
]

DEFAULT_POOL = "novita-process"
"""The work pool every deployment of ``prefect.yaml`` names."""

RESULTS_BLOCK = "novita-results"
"""Name of the ``LocalFileSystem`` block that holds every worker's results and caches."""

# Secrets the Prefect server never needs: kept out of its environment (and its process's
# /proc/<pid>/environ), while the workers, which run the flows, get them.
_FLOW_ONLY = ("NOVITA_API_KEY", "WEBHOOK_SECRET", "NOVITA_SIMULATOR_API_KEY")

_QUIET = {
    "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
    "DO_NOT_TRACK": "1",
    # flow-run logs streamed, so `prefect deployment run ... --watch` shows them
    "PREFECT_SERVER_LOGS_STREAM_OUT_ENABLED": "true",
    "PREFECT_SERVER_LOGS_STREAM_PUBLISHING_ENABLED": "true",
}


def prefect_executable() -> str:
    """The ``prefect`` command of the running interpreter's environment.

    Example:
        >>> Path(prefect_executable()).name
        'prefect'

    """
    return str(Path(sys.executable).with_name("prefect"))


def server_env(
    base: Mapping[str, str],
    *,
    database_url: str,
    home: Path,
    api_url: str,
    extra: Mapping[str, str] | None = None,
) -> dict[str, str]:
    """Environment of ``prefect server start`` on PostgreSQL.

    Args:
        base: The environment to start from (usually ``os.environ``).
        database_url: ``postgresql+asyncpg://...`` of the Prefect database.
        home: ``PREFECT_HOME`` (profiles, the server's local files).
        api_url: The server's own API URL; the UI is told to call it.
        extra: Further settings (tests switch the scheduler off).

    Example:
        >>> env = server_env({"NOVITA_API_KEY": "k"}, database_url="postgresql+asyncpg://x/p",
        ...                  home=Path("/tmp/h"), api_url="http://127.0.0.1:4300/api")
        >>> env["PREFECT_UI_API_URL"], "NOVITA_API_KEY" in env
        ('http://127.0.0.1:4300/api', False)

    """
    env = {k: v for k, v in base.items() if k not in _FLOW_ONLY}
    env |= _QUIET | {
        "PREFECT_HOME": str(home),
        "PREFECT_API_URL": api_url,
        # else the UI, served on our port, calls the API on the default port 4200
        "PREFECT_UI_API_URL": api_url,
        "PREFECT_API_DATABASE_CONNECTION_URL": database_url,
    }
    return env | dict(extra or {})


def server_argv(host: str, port: int) -> list[str]:
    """The command that starts the server.

    Example:
        >>> server_argv("127.0.0.1", 4200)[1:]
        ['server', 'start', '--host', '127.0.0.1', '--port', '4200']

    """
    return [prefect_executable(), "server", "start", "--host", host, "--port", str(port)]


def api_healthy(api_url: str, timeout: float = 2.0) -> bool:
    """Whether ``<api_url>/health`` answers 200 now.

    Example:
        >>> api_healthy("http://127.0.0.1:9/api", timeout=0.2)
        False

    """
    try:
        return httpx.get(f"{api_url}/health", timeout=timeout).status_code == 200
    except httpx.HTTPError:
        return False


def wait_until_healthy(
    api_url: str, timeout: float = 120.0, alive: Callable[[], bool] | None = None
) -> float:
    """Poll ``/health`` until it answers 200; returns the seconds it took.

    Args:
        api_url: The server's API URL.
        timeout: Give up after this many seconds.
        alive: Tells whether the server process still runs: fail at once when it died.

    Raises:
        RuntimeError: The server died or did not become healthy in time.

    Example:
        ```python
        seconds = wait_until_healthy("http://127.0.0.1:4200/api", alive=lambda: True)
        ```

    """
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        if api_healthy(api_url):
            return time.monotonic() - started
        if alive is not None and not alive():
            raise RuntimeError("the Prefect server exited before it was healthy (see its log)")
        time.sleep(0.5)
    raise RuntimeError(f"the Prefect server at {api_url} was not healthy within {timeout:g} s")


async def ensure_work_pool(api_url: str, name: str = DEFAULT_POOL) -> str:
    """Create the ``process`` work pool ``name`` unless it exists.

    A pool that a drain (:func:`drain_pool`) left paused is resumed.

    Returns:
        ``created``, ``exists`` or ``resumed``.

    Example:
        ```python
        outcome = asyncio.run(ensure_work_pool("http://127.0.0.1:4200/api"))
        ```

    """
    from prefect.client.orchestration import PrefectClient
    from prefect.client.schemas.actions import WorkPoolCreate, WorkPoolUpdate
    from prefect.exceptions import ObjectAlreadyExists, ObjectNotFound

    async with PrefectClient(api_url) as client:
        try:
            pool = await client.read_work_pool(name)
        except ObjectNotFound:
            pass
        else:
            if not pool.is_paused:
                return "exists"
            await client.update_work_pool(name, WorkPoolUpdate(is_paused=False))
            return "resumed"
        try:
            await client.create_work_pool(WorkPoolCreate(name=name, type="process"))
        except ObjectAlreadyExists:  # another scale-up won the race
            return "exists"
        return "created"


async def save_result_storage(api_url: str, folder: Path, name: str = RESULTS_BLOCK) -> str:
    """Save a ``LocalFileSystem`` block on ``folder`` and make it the server's default.

    Every worker gets ``PREFECT_RESULTS_DEFAULT_STORAGE_BLOCK`` set to the returned slug, so
    task results and cache records of every flow run land in one folder whichever worker
    ran it: a cached read computed by worker 1 is a cache hit for worker 2. The server
    default covers clients that were not given the variable (the CLI, a notebook) when they
    read a flow run's result. On several machines, the folder must be one shared mount (or
    use a remote block such as S3 instead).

    Args:
        api_url: The server's API URL.
        folder: The shared folder, an absolute path (created if missing).
        name: The block's name.

    Returns:
        The block's slug, ``local-file-system/<name>``.

    Example:
        ```python
        slug = asyncio.run(save_result_storage(api_url, Path("data/scale/results")))
        ```

    """
    from prefect.client.orchestration import PrefectClient
    from prefect.filesystems import LocalFileSystem

    if not folder.is_absolute():
        raise ValueError(f"the results folder must be an absolute path, not {folder}")
    await asyncio.to_thread(folder.mkdir, parents=True, exist_ok=True)
    async with PrefectClient(api_url) as client:
        block_id = await LocalFileSystem(basepath=str(folder)).asave(
            name, overwrite=True, client=client
        )
        await client.update_server_default_result_storage(block_id)
    return f"local-file-system/{name}"


def deploy_all(project_root: Path, env: Mapping[str, str], log: Path) -> float:
    """``prefect --no-prompt deploy --all`` from the project root; returns its duration.

    ``prefect.yaml`` is read from ``project_root`` and that folder is recorded as the flow
    runs' working directory, so workers import the flows from there. Running it again
    updates the deployments in place.

    Raises:
        RuntimeError: The command failed; the message ends with its last output lines.

    Example:
        ```python
        deploy_all(Path("."), os.environ | {"PREFECT_API_URL": api}, Path("deploy.log"))
        ```

    """
    started = time.monotonic()
    log.parent.mkdir(parents=True, exist_ok=True)
    result = subprocess.run(
        [prefect_executable(), "--no-prompt", "deploy", "--all"],
        cwd=project_root,
        env=dict(env),
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    log.write_text(result.stdout + result.stderr)
    if result.returncode != 0:
        tail = "\n".join((result.stdout + result.stderr).strip().splitlines()[-15:])
        raise RuntimeError(f"prefect deploy --all failed (see {log}):\n{tail}")
    return time.monotonic() - started


def worker_env(
    base: Mapping[str, str],
    *,
    api_url: str,
    state_url: str,
    home: Path,
    results_folder: Path,
    results_block: str | None,
    project_root: Path,
    poll_seconds: float = 5.0,
    extra: Mapping[str, str] | None = None,
) -> dict[str, str]:
    """Environment of a process worker, inherited by every flow run it starts.

    ``NOVITA_API_KEY`` / ``NOVITA_API_BASE_URL`` / ``WEBHOOK_SECRET`` come through from
    ``base`` untouched; the Prefect database URL does not (workers only talk to the API).

    Args:
        base: The environment to start from (usually ``os.environ``).
        api_url: ``PREFECT_API_URL`` of the server.
        state_url: ``NOVITA_STATE_URL``: the store every worker shares.
        home: ``PREFECT_HOME``.
        results_folder: ``PREFECT_LOCAL_STORAGE_PATH``: the shared results folder.
        results_block: Slug of the results block (:func:`save_result_storage`), or None.
        project_root: Put first on ``PYTHONPATH`` so flow runs import this checkout.
        poll_seconds: How often a worker asks for new runs (Prefect's default is 10 s).
        extra: Further variables (win over everything else).

    Example:
        >>> env = worker_env({"NOVITA_API_KEY": "k"}, api_url="http://127.0.0.1:4200/api",
        ...     state_url="postgresql+asyncpg://postgres@127.0.0.1/novita_state",
        ...     home=Path("/tmp/h"), results_folder=Path("/tmp/r"), results_block=None,
        ...     project_root=Path("/srv/p"))
        >>> env["NOVITA_API_KEY"], env["PREFECT_LOCAL_STORAGE_PATH"], env["PYTHONPATH"]
        ('k', '/tmp/r', '/srv/p')

    """
    env = {k: v for k, v in base.items() if k != "PREFECT_API_DATABASE_CONNECTION_URL"}
    python_path = [str(project_root), *filter(None, [base.get("PYTHONPATH")])]
    env |= _QUIET | {
        "PREFECT_API_URL": api_url,
        "PREFECT_HOME": str(home),
        "NOVITA_STATE_URL": state_url,
        "PREFECT_LOCAL_STORAGE_PATH": str(results_folder),
        "PREFECT_WORKER_QUERY_SECONDS": f"{poll_seconds:g}",
        "PYTHONPATH": os.pathsep.join(python_path),
    }
    if results_block:
        env["PREFECT_RESULTS_DEFAULT_STORAGE_BLOCK"] = results_block
    return env | dict(extra or {})


def worker_argv(pool: str, name: str, limit: int | None = None) -> list[str]:
    """The command that starts one process worker.

    Example:
        >>> worker_argv("novita-process", "novita-worker-1")[1:5]
        ['worker', 'start', '--pool', 'novita-process']

    """
    argv = [prefect_executable(), "worker", "start", "--pool", pool, "--type", "process"]
    argv += ["--name", name]
    if limit:
        argv += ["--limit", str(limit)]
    return argv


async def online_workers(api_url: str, pool: str = DEFAULT_POOL) -> dict[str, str]:
    """``{worker name: status}`` of the pool's workers as the server sees them.

    Example:
        ```python
        asyncio.run(online_workers("http://127.0.0.1:4200/api"))  # {'novita-worker-1': 'ONLINE'}
        ```

    """
    from prefect.client.orchestration import PrefectClient
    from prefect.exceptions import ObjectNotFound

    async with PrefectClient(api_url) as client:
        try:
            workers = await client.read_workers_for_work_pool(pool)
        except ObjectNotFound:
            return {}
    return {w.name: str(getattr(w.status, "value", w.status)) for w in workers}


async def drain_pool(api_url: str, pool: str = DEFAULT_POOL, within: float = 60.0) -> list[str]:
    """Pause the pool (no new runs start) and wait for its runs in flight to end.

    A worker stopped under a running flow run takes the run's process with it, and nothing
    tells the server: the run would show Running forever. Draining first avoids that.

    Args:
        api_url: The server's API URL.
        pool: The work pool.
        within: Seconds to wait; 0 = just pause and report.

    Returns:
        Ids of the runs still pending or running when the wait ended.

    Example:
        ```python
        leftovers = asyncio.run(drain_pool("http://127.0.0.1:4200/api", within=60))
        ```

    """
    from prefect.client.orchestration import PrefectClient
    from prefect.client.schemas.actions import WorkPoolUpdate
    from prefect.exceptions import ObjectNotFound

    async with PrefectClient(api_url) as client:
        try:
            await client.update_work_pool(pool, WorkPoolUpdate(is_paused=True))
        except ObjectNotFound:
            return []
        deadline = time.monotonic() + within
        while True:
            active = await _runs_in_flight(client, pool)
            if not active or time.monotonic() >= deadline:
                return active
            await asyncio.sleep(1.0)


async def crash_runs(api_url: str, run_ids: list[str], message: str) -> None:
    """Mark flow runs Crashed (their process is gone), so the UI stops showing them running.

    Example:
        ```python
        asyncio.run(crash_runs(api_url, leftovers, "scale-down stopped its worker"))
        ```

    """
    from prefect.client.orchestration import PrefectClient
    from prefect.states import Crashed

    async with PrefectClient(api_url) as client:
        for run_id in run_ids:
            await client.set_flow_run_state(run_id, Crashed(message=message), force=True)


async def _runs_in_flight(client: Any, pool: str) -> list[str]:
    from prefect.client.schemas.filters import (
        FlowRunFilter,
        FlowRunFilterState,
        FlowRunFilterStateType,
        WorkPoolFilter,
        WorkPoolFilterName,
    )
    from prefect.client.schemas.objects import StateType

    runs = await client.read_flow_runs(
        work_pool_filter=WorkPoolFilter(name=WorkPoolFilterName(any_=[pool])),
        flow_run_filter=FlowRunFilter(
            state=FlowRunFilterState(
                type=FlowRunFilterStateType(
                    any_=[StateType.PENDING, StateType.RUNNING, StateType.CANCELLING]
                )
            )
        ),
    )
    return [str(run.id) for run in runs]


async def wait_for_workers(
    api_url: str,
    names: list[str],
    pool: str = DEFAULT_POOL,
    within: float = 90.0,
    fresh: Collection[str] = (),
    since: datetime.datetime | None = None,
) -> float:
    """Wait until every named worker is ONLINE; returns the seconds it took.

    A worker stopped a minute ago still shows ONLINE until its heartbeat goes stale, so the
    workers in ``fresh`` (just started) only count once they sent a heartbeat after
    ``since``.

    Raises:
        RuntimeError: Some were not online in time (their names are in the message).

    Example:
        ```python
        asyncio.run(wait_for_workers(api_url, ["novita-worker-1", "novita-worker-2"]))
        ```

    """
    from prefect.client.orchestration import PrefectClient
    from prefect.exceptions import ObjectNotFound

    started = time.monotonic()
    missing = list(names)
    async with PrefectClient(api_url) as client:
        while time.monotonic() - started < within:
            try:
                workers = {w.name: w for w in await client.read_workers_for_work_pool(pool)}
            except ObjectNotFound:
                workers = {}
            missing = [n for n in names if not _online(workers.get(n), n in fresh, since)]
            if not missing:
                return time.monotonic() - started
            await asyncio.sleep(1.0)
    raise RuntimeError(f"workers not online after {within:g} s: {', '.join(missing)}")


def _online(worker: Any, fresh: bool, since: datetime.datetime | None) -> bool:
    if worker is None or str(getattr(worker.status, "value", worker.status)) != "ONLINE":
        return False
    if not fresh or since is None:
        return True
    beat = worker.last_heartbeat_time
    return beat is not None and beat >= since
