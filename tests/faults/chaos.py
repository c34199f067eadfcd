"""A seeded storm of transient Novita faults, driven against the simulator while a flow runs.

Every `tick` seconds the storm, from one seeded RNG:

- keeps a random 5xx on `error_rate` of all API requests, switching its status among 500,
  502, 503 and 504 (503 proves Novita did not act; 500/502/504 after a create are ambiguous);
- every `burst_every` s makes the next 3-5 requests answer 429 with `Retry-After: 1`, for
  at most `burst_window` s (what is left of the burst is then lifted: a client that waited
  the `Retry-After` it was told gets in, as with a real rate limit; a count-only burst would
  refuse one lone caller 5 times in a row whatever it waited);
- every `spike_every` s holds the next 2-4 requests `spike_seconds` (a latency spike; the
  request is then processed normally);
- `create_faults` times (once by default), every `create_every` s, answers the next create
  (within a `burst_window`) with an ambiguous 500/502/504, so the create path meets one
  however the random draws fall. Both targeted faults are lifted after their window: late in
  a run only the odd retry still creates, and a standing "fail the next create" would hit
  every retry of one unlucky machine, which is no longer a transient fault (more targeted
  create faults on top of the random 20 % make the storm harsher than the issue's).

The simulator's own request stats count what was answered; `Storm.figures()` adds what the
storm injected.
"""

from __future__ import annotations

import asyncio
import random
from dataclasses import dataclass, field
from typing import Any

from simulator.server import SimulatorServer

CREATE = "/gpu/instance/create"
RANDOM_5XX = (500, 502, 503, 504)
AMBIGUOUS_5XX = (500, 502, 504)


@dataclass
class Storm:
    """Transient faults on a running simulator until `stop()` (see the module docstring)."""

    sim: SimulatorServer
    seed: int = 20261202
    error_rate: float = 0.2
    tick: float = 0.5
    burst_every: float = 4.0
    burst_window: float = 1.0
    spike_every: float = 3.0
    spike_seconds: float = 2.0
    create_every: float = 1.5
    create_faults: int = 1
    bursts: int = 0
    burst_requests: int = 0
    spikes: int = 0
    spike_requests: int = 0
    create_faults_asked: int = 0
    statuses_used: set[int] = field(default_factory=set)
    _task: asyncio.Task[None] | None = None

    def start(self) -> None:
        """Start the storm on the running event loop."""
        self._task = asyncio.get_running_loop().create_task(self._run())

    async def stop(self) -> None:
        """End the storm and clear every fault."""
        if self._task is not None:
            self._task.cancel()
            try:
                await self._task
            except asyncio.CancelledError:
                pass
        self.sim.clear_faults()

    async def _run(self) -> None:
        rng = random.Random(self.seed)
        elapsed = 0.0
        next_burst, next_spike, next_create = 0.0, 0.3, 0.1
        burst_ends: float | None = None
        create_fault_ends: float | None = None
        first = True
        while True:
            status = rng.choice(RANDOM_5XX)
            self.statuses_used.add(status)
            self.sim.set_error_rate(
                self.error_rate, status=status, seed=self.seed if first else None
            )
            first = False
            if burst_ends is not None and elapsed >= burst_ends:
                self.sim.rate_limit(0)  # the burst is over
                burst_ends = None
            if elapsed >= next_burst:
                count = rng.randint(3, 5)
                self.sim.rate_limit(count, retry_after=1)
                self.bursts += 1
                self.burst_requests += count
                burst_ends = elapsed + self.burst_window
                next_burst += self.burst_every
            if elapsed >= next_spike:
                count = rng.randint(2, 4)
                self.sim.hang_requests(count, seconds=self.spike_seconds)
                self.spikes += 1
                self.spike_requests += count
                next_spike += self.spike_every
            if create_fault_ends is not None and elapsed >= create_fault_ends:
                self.sim.fail_requests(0, path=CREATE)
                create_fault_ends = None
            if elapsed >= next_create and self.create_faults_asked < self.create_faults:
                self.sim.fail_requests(1, status=rng.choice(AMBIGUOUS_5XX), path=CREATE)
                self.create_faults_asked += 1
                create_fault_ends = elapsed + self.burst_window
                next_create += self.create_every
            await asyncio.sleep(self.tick)
            elapsed += self.tick

    def figures(self) -> dict[str, Any]:
        """What the storm asked for (the simulator's stats say what was answered)."""
        return {
            "error_rate": self.error_rate,
            "random_5xx_statuses": sorted(self.statuses_used),
            "bursts_429": self.bursts,
            "burst_429_requests_asked": self.burst_requests,
            "latency_spikes": self.spikes,
            "spiked_requests_asked": self.spike_requests,
            "spike_seconds": self.spike_seconds,
            "ambiguous_create_faults_asked": self.create_faults_asked,
        }
