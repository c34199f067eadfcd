"""In-process handle: serve the simulator from a background thread, for tests and demos.

:class:`SimulatorServer` binds its socket first (so it knows its own URL before the first
instance is created), runs uvicorn in a daemon thread and stops it cleanly. It inherits
every control of :class:`simulator.controls.SimulatorControls`, so a test drives the cloud
in-process (``sim.reclaim_spot(iid)``) while the code under test talks HTTP to
``sim.base_url``.

Example::

    with SimulatorServer(speed=20) as sim:
        client = httpx.Client(base_url=sim.base_url,
                              headers={"Authorization": f"Bearer {sim.api_key}"})
        client.get("/clusters").json()["data"][0]["id"]   # 'as-sgp-2'
        sim.set_capacity("as-sgp-2")
"""

from __future__ import annotations

import asyncio
import logging
import socket
import threading
import time
from collections.abc import Callable
from types import TracebackType

import uvicorn

from simulator.app import create_app
from simulator.controls import SimulatorControls
from simulator.gateway import API_PREFIX
from simulator.lifecycle import Timings
from simulator.state import DEFAULT_API_KEY, SimulatorState

__all__ = ["SimulatorServer", "advertised_host", "bind_socket"]

logger = logging.getLogger(__name__)

_START_TIMEOUT = 15.0


def bind_socket(host: str, port: int) -> socket.socket:
    """Bind a listening TCP socket (port 0 = a free port) for uvicorn to serve on.

    Example:
        >>> sock = bind_socket("127.0.0.1", 0)
        >>> sock.getsockname()[1] > 0
        True
        >>> sock.close()

    """
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    # IPPROTO_TCP explicitly: asyncio only sets TCP_NODELAY on sockets that say so, and
    # without it every response waits ~40 ms on delayed ACKs.
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.listen(2048)
    sock.set_inheritable(True)
    return sock


def advertised_host(host: str) -> str:
    """The host to put in URLs: a wildcard bind is reached through loopback.

    Example:
        >>> advertised_host("0.0.0.0")
        '127.0.0.1'

    """
    if host in ("0.0.0.0", "", "::"):
        return "127.0.0.1"
    return f"[{host}]" if ":" in host else host


class SimulatorServer(SimulatorControls):
    """A running simulator on ``host:port`` (port 0 = free port), with its controls.

    Args:
        api_key: The accepted Bearer key (default: the public fake key).
        speed: Clock speed, simulated seconds per real second.
        frozen: Start with a frozen clock; move it with :meth:`advance`.
        seed: Seed of ids and of the random fault rate (None = random ids).
        host: Interface to serve on (the TCP listener of tcp ports binds it too).
        port: Port to serve on; 0 picks a free one.
        timings: Phase durations (:class:`simulator.lifecycle.Timings`).
        log_level: uvicorn log level.

    Example:
        >>> with SimulatorServer(frozen=True) as sim:
        ...     sim.base_url.endswith("/gpu-instance/openapi/v1")
        True

    """

    def __init__(
        self,
        api_key: str = DEFAULT_API_KEY,
        *,
        speed: float = 1.0,
        frozen: bool = False,
        seed: int | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
        timings: Timings | None = None,
        log_level: str = "warning",
    ):
        super().__init__(
            SimulatorState(api_key, speed=speed, frozen=frozen, seed=seed, timings=timings)
        )
        self._host = host
        self._port = port
        self._log_level = log_level
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None
        self._sock: socket.socket | None = None
        self._root = ""

    # -- addresses -----------------------------------------------------------------------

    @property
    def root_url(self) -> str:
        """``http://host:port`` of the server (valid once started)."""
        return self._root

    @property
    def base_url(self) -> str:
        """The API base: ``http://host:port/gpu-instance/openapi/v1``."""
        return self._root + API_PREFIX

    @property
    def admin_url(self) -> str:
        """The admin base: ``http://host:port/_admin``."""
        return self._root + "/_admin"

    @property
    def api_key(self) -> str:
        """The Bearer key the server accepts."""
        return self.state.api_key

    @property
    def tcp_address(self) -> str:
        """``host:port`` of the TCP listener that tcp port mappings point at."""
        return self.state.tcp_address

    # -- lifecycle -----------------------------------------------------------------------

    def start(self) -> SimulatorServer:
        """Start serving in a background thread; returns self once it accepts requests."""
        if self._thread is not None:
            return self
        self.state.closing.clear()
        sock = bind_socket(self._host, self._port)
        port = sock.getsockname()[1]
        self._root = f"http://{advertised_host(self._host)}:{port}"
        self.state.set_addresses(self._root)
        app = create_app(self.state, tcp_host=self._host, tcp_port=0)
        config = uvicorn.Config(
            app,
            log_level=self._log_level,
            lifespan="on",
            timeout_graceful_shutdown=1,
            access_log=False,
        )
        server = uvicorn.Server(config)
        thread = threading.Thread(
            target=server.run, kwargs={"sockets": [sock]}, name="novita-simulator", daemon=True
        )
        self._server, self._thread, self._sock = server, thread, sock
        thread.start()
        if not _wait_until(lambda: server.started or not thread.is_alive(), _START_TIMEOUT):
            self.stop()
            raise RuntimeError("the simulator did not start in time")
        if not server.started:
            self.stop()
            raise RuntimeError("the simulator failed to start (see the log)")
        logger.info("Novita simulator serving %s", self.base_url)
        return self

    def stop(self) -> None:
        """Stop serving and wait for the thread (idempotent)."""
        server, thread = self._server, self._thread
        if server is None or thread is None:
            return
        self.state.closing.set()
        server.should_exit = True
        thread.join(timeout=10)
        if self._sock is not None:
            self._sock.close()
        self._server, self._thread, self._sock = None, None, None

    def __enter__(self) -> SimulatorServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    async def __aenter__(self) -> SimulatorServer:
        return await asyncio.to_thread(self.start)

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await asyncio.to_thread(self.stop)


def _wait_until(predicate: Callable[[], bool], timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.01)
    return False
