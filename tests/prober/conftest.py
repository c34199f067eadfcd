"""Fixtures of the prober tests: an HTTP app, listening/closed ports, fake time."""

from __future__ import annotations

import socket
from collections.abc import Iterator

import pytest

from .servers import AppServer, FakeTime, free_port, start_app_server


@pytest.fixture
def app() -> Iterator[AppServer]:
    app, server = start_app_server()
    try:
        yield app
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def listening_port() -> Iterator[int]:
    """A port that accepts TCP connections (kernel backlog) but never answers."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen(16)
        yield sock.getsockname()[1]


@pytest.fixture
def closed_port() -> int:
    return free_port()


@pytest.fixture
def fake_time() -> FakeTime:
    return FakeTime()
