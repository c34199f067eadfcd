"""One Novita rate limit: every request passes the pacer and the Prefect global limit.

Against a simulator capped at the same budget, 60 concurrent reads are all answered (no
429) and no second ever sees more than the budget; the shared limit exists on the Prefect
server with the budget's shape; a 429 pauses every caller of the process.
"""

from __future__ import annotations

import asyncio
import itertools
import uuid

from blocks import NovitaCredentials
from blocks.novita_rate_limit import rate_limit_for
from clients.novita.pacing import RateBudget, RequestPacer
from simulator.server import SimulatorServer


def test_pacer_bursts_then_spaces_requests_within_the_budget() -> None:
    now = [0.0]

    async def fake_sleep(seconds: float) -> None:
        now[0] += seconds

    pacer = RequestPacer(RateBudget.parse("10/s"), clock=lambda: now[0], sleep=fake_sleep)
    sent = []

    async def send_all() -> None:
        for _ in range(30):
            await pacer.wait_turn()
            sent.append(now[0])

    asyncio.run(send_all())
    assert sent[0] == 0.0 and abs(sent[1] - 1 / 9) < 1e-9  # burst of 1, then 9 per second
    windows = [sum(1 for t in sent if start <= t < start + 1.0) for start in sent]
    assert max(windows) <= 10
    assert sent[-1] < 30 / 9 + 0.01  # the long-run rate is the refill: 9 per second


def test_a_pause_holds_everyone_back_then_they_leave_one_by_one() -> None:
    now = [0.0]

    async def fake_sleep(seconds: float) -> None:
        now[0] += seconds

    pacer = RequestPacer(RateBudget.parse("10/s"), clock=lambda: now[0], sleep=fake_sleep)
    pacer.pause(2.0)
    sent = []

    async def send(n: int) -> None:
        for _ in range(n):
            await pacer.wait_turn()
            sent.append(now[0])

    asyncio.run(send(5))
    assert min(sent) >= 2.0
    assert all(b - a >= 1 / 9 - 1e-9 for a, b in itertools.pairwise(sent))


async def test_a_budgeted_client_never_meets_the_simulators_cap(sim: SimulatorServer) -> None:
    from prefect.client.orchestration import get_client

    name = f"novita-test-{uuid.uuid4().hex[:6]}"
    sim.set_rate_limit(10)
    sim.clear_request_stats()
    credentials = NovitaCredentials(
        api_key=sim.api_key, base_url=sim.base_url, rate_limit="10/s", rate_limit_name=name
    )
    async with credentials.get_client() as client:
        await asyncio.gather(*(client.list_clusters() for _ in range(40)))
    stats = sim.request_stats()
    assert stats["limited"] == 0, stats  # nobody met the cap: no retries were needed
    assert stats["maxReceivedInAnySecond"] <= 10
    assert stats["served"] == 40
    async with get_client() as prefect:
        shared = await prefect.read_global_concurrency_limit_by_name(name)
    assert shared.limit == 1 and shared.slot_decay_per_second == 9.0


async def test_a_429_slows_every_caller_of_the_process(sim: SimulatorServer) -> None:
    budget = RateBudget(requests=50, window_seconds=1)
    limit = rate_limit_for(budget, f"novita-test-{uuid.uuid4().hex[:6]}")
    sim.rate_limit(1, retry_after=1)  # the next request is refused for a second
    credentials = NovitaCredentials(
        api_key=sim.api_key,
        base_url=sim.base_url,
        rate_limit="50/s",
        rate_limit_name=limit.name,
    )
    async with credentials.get_client() as client:
        paused = limit.pacer.pause
        pauses: list[float] = []
        limit.pacer.pause = lambda seconds: (pauses.append(seconds), paused(seconds))[1]  # type: ignore[method-assign]
        await client.list_clusters()  # meets the 429, pauses the process, then succeeds
        await asyncio.gather(*(client.list_clusters() for _ in range(3)))
    answered = [r["status"] for r in sim.requests(path="/clusters")]
    assert answered.count(429) == 1 and answered.count(200) == 4
    assert pauses == [1.0]  # the Retry-After paused every caller of the process, once
