"""A real simulator over HTTP, with a frozen clock each test steps, and a client pointed at it."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import pytest

from clients.novita import NovitaClient, RetryPolicy
from simulator.server import SimulatorServer


@pytest.fixture(scope="session")
def contract_sim() -> Iterator[SimulatorServer]:
    with SimulatorServer(frozen=True) as sim:
        yield sim


@pytest.fixture
def sim(contract_sim: SimulatorServer) -> Iterator[SimulatorServer]:
    contract_sim.reset()
    contract_sim.freeze()
    yield contract_sim
    contract_sim.reset()


@pytest.fixture
async def client(sim: SimulatorServer) -> AsyncIterator[NovitaClient]:
    async def no_sleep(_: float) -> None:
        return None

    policy = RetryPolicy(max_attempts=3, initial_wait=0.01, max_wait=0.05)
    async with NovitaClient(
        api_key=sim.api_key, base_url=sim.base_url, retry_policy=policy, sleep=no_sleep
    ) as c:
        yield c
