"""Fixtures of the webhook tests: a real receiver, a closed port, a recording sleep."""

from __future__ import annotations

import socket
from collections.abc import Iterator

import pytest

from .receiver import Receiver, RecordingSleep, start_receiver


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    receiver, server = start_receiver()
    try:
        yield receiver
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def closed_port_url() -> str:
    """A URL on a port nothing listens on (bound then released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}/hooks"


@pytest.fixture
def sleep() -> RecordingSleep:
    return RecordingSleep()
