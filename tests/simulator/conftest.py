"""Fixtures of the simulator tests: one served simulator, reset and frozen before each test.

The HTTP clients are session-wide too: building an httpx client costs ~70 ms (it loads the
CA bundle), more than most of these tests take.
"""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from simulator.server import SimulatorServer


@pytest.fixture(scope="session")
def sim_server() -> Iterator[SimulatorServer]:
    with SimulatorServer(frozen=True) as server:
        yield server


@pytest.fixture(scope="session")
def _clients(sim_server: SimulatorServer) -> Iterator[dict[str, httpx.Client]]:
    headers = {"Authorization": f"Bearer {sim_server.api_key}"}
    with (
        httpx.Client(base_url=sim_server.base_url, headers=headers, timeout=5) as api,
        httpx.Client(base_url=sim_server.admin_url, timeout=5) as admin,
        httpx.Client(timeout=5) as web,
    ):
        yield {"api": api, "admin": admin, "web": web}


@pytest.fixture
def sim(sim_server: SimulatorServer) -> SimulatorServer:
    sim_server.reset()
    sim_server.freeze()
    sim_server.set_speed(1)
    return sim_server


@pytest.fixture
def api(sim: SimulatorServer, _clients: dict[str, httpx.Client]) -> httpx.Client:
    """Authenticated client on the API base."""
    return _clients["api"]


@pytest.fixture
def admin(sim: SimulatorServer, _clients: dict[str, httpx.Client]) -> httpx.Client:
    """Client on the admin base."""
    return _clients["admin"]


@pytest.fixture
def web(sim: SimulatorServer, _clients: dict[str, httpx.Client]) -> httpx.Client:
    """Plain client (no key, no base URL) for endpoints and unauthenticated calls."""
    return _clients["web"]
