"""A flow run in a worker process of its own, to be killed with SIGKILL at a chosen moment.

The process gets the test session's environment (the simulator's `NOVITA_*`, the state
store's `NOVITA_STATE_URL`, `PREFECT_HOME`) plus the Prefect test server's API URL, so it
shares the store and the Prefect server with the test; its output goes to a file (a pipe
nobody reads could block it).
"""

from __future__ import annotations

import asyncio
import os
import signal
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

from tests.flows.test_served_deployments import api_url

ROOT = Path(__file__).resolve().parents[2]

PROVISION = """
import asyncio, sys
from flows.provision import provision_instance

asyncio.run(provision_instance(
    name=sys.argv[1], product_name="RTX 4090 24GB", template_id="1001",
    deadline_minutes=float(sys.argv[2]), webhook_url=sys.argv[3] or None,
))
"""

AUTO_STOP_SWEEP = """
import asyncio
from flows.auto_stop_sweep import auto_stop_sweep

asyncio.run(auto_stop_sweep())
"""


class Worker:
    """One flow-running process; `kill()` sends SIGKILL (no cleanup of any kind runs)."""

    def __init__(self, process: asyncio.subprocess.Process, log: Path) -> None:
        self.process = process
        self.log = log
        self.killed_at: float | None = None

    @classmethod
    async def start(cls, script: str, *args: str, log: Path) -> Worker:
        """Start `python -c script args...` against the test session's servers and store."""
        env = os.environ | {"PREFECT_API_URL": api_url(), "PYTHONPATH": str(ROOT)}
        with log.open("wb") as out:
            process = await asyncio.create_subprocess_exec(
                sys.executable, "-c", script, *args, cwd=ROOT, env=env, stdout=out, stderr=out
            )
        return cls(process, log)

    async def kill_when(
        self, condition: Callable[[], Awaitable[bool]], within: float = 90.0
    ) -> None:
        """SIGKILL the process as soon as `condition()` holds (polled every 20 ms).

        Raises:
            AssertionError: the process ended first, or `within` seconds passed.

        """
        deadline = time.monotonic() + within
        while not await condition():
            if self.process.returncode is not None:
                raise AssertionError(
                    f"the worker ended (rc {self.process.returncode}) before the kill point:\n"
                    + self.output()[-3000:]
                )
            if time.monotonic() > deadline:
                self.process.kill()
                raise AssertionError("the kill point never came:\n" + self.output()[-3000:])
            await asyncio.sleep(0.02)
        self.process.send_signal(signal.SIGKILL)
        self.killed_at = time.monotonic()
        assert await self.process.wait() == -signal.SIGKILL

    def output(self) -> str:
        """What the process printed (Prefect's log lines, a traceback)."""
        return self.log.read_text(errors="replace")
