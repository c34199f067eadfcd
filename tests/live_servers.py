"""The real parts flow tests run against: a Prefect test server, the simulator, a receiver.

Registered once for the whole session by `tests/conftest.py` (`pytest_plugins`), so every
folder (tests/flows, tests/faults, tests/properties...) shares ONE Prefect test server. A
conftest that imported these fixtures again would define them a second time and start a
second server, while Prefect's process-wide events worker stays bound to the first: events
and task runs of later flows then land on a server nobody reads.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Iterator

import pytest

from simulator.server import SimulatorServer
from store import StateStore
from tests.webhooks.receiver import Receiver, start_receiver

WEBHOOK_SECRET = "test-secret-not-real"
SIM_SPEED = 20.0


@pytest.fixture(scope="session")
def prefect_server() -> Iterator[None]:
    from prefect.testing.utilities import prefect_test_harness  # ~7 s import: only when used

    with prefect_test_harness(server_startup_timeout=90):
        yield


@pytest.fixture(scope="session")
def flow_sim() -> Iterator[SimulatorServer]:
    with SimulatorServer(speed=SIM_SPEED) as sim:
        yield sim


@pytest.fixture(scope="session")
def flow_env(prefect_server: None, flow_sim: SimulatorServer) -> Iterator[None]:
    """Point the flows at the simulator (env fallback) and save fast polling policies."""
    from blocks import NovitaPolicies

    os.environ["NOVITA_API_KEY"] = flow_sim.api_key
    os.environ["NOVITA_API_BASE_URL"] = flow_sim.base_url
    os.environ["WEBHOOK_SECRET"] = WEBHOOK_SECRET
    NovitaPolicies(poll_initial_seconds=0.1, poll_max_seconds=0.3).save("default", overwrite=True)
    yield
    for name in ("NOVITA_API_KEY", "NOVITA_API_BASE_URL", "WEBHOOK_SECRET"):
        os.environ.pop(name, None)


@pytest.fixture
def sim(flow_env: None, flow_sim: SimulatorServer) -> Iterator[SimulatorServer]:
    flow_sim.reset()
    flow_sim.set_speed(SIM_SPEED)
    yield flow_sim
    flow_sim.clear_faults()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    rec, server = start_receiver()
    yield rec
    server.shutdown()
    server.server_close()


@pytest.fixture
async def store() -> AsyncIterator[StateStore]:
    async with StateStore() as s:
        yield s
