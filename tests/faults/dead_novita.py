"""Two ways Novita can be down: nothing listens (refused), or it accepts and never answers.

`closed_port_url()` is an API base URL on a loopback port nobody listens on: every connect is
refused at once. `SilentServer` accepts every connection, reads whatever is sent and never
answers a byte (a hung load balancer, a frozen gateway): only the client's own timeouts and
deadlines end a call.
"""

from __future__ import annotations

import socket
import threading
from types import TracebackType

API_PATH = "/gpu-instance/openapi/v1"


def closed_port_url() -> str:
    """An API base URL whose port had a listener a moment ago and has none now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return f"http://127.0.0.1:{port}{API_PATH}"


class SilentServer:
    """A TCP listener on 127.0.0.1 that accepts, reads and never answers (a thread).

    Example:
        ```python
        with SilentServer() as silent:
            ...  # point NOVITA_API_BASE_URL at silent.base_url
        print(silent.connections)
        ```

    """

    def __init__(self) -> None:
        self._listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._listener.bind(("127.0.0.1", 0))
        self._listener.listen(128)
        self._listener.settimeout(0.1)
        self.port: int = self._listener.getsockname()[1]
        self.base_url = f"http://127.0.0.1:{self.port}{API_PATH}"
        self.connections = 0
        self._held: list[socket.socket] = []
        self._closing = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)

    def __enter__(self) -> SilentServer:
        self._thread.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._closing.set()
        self._thread.join(timeout=5)
        for conn in self._held:
            conn.close()
        self._listener.close()

    def _serve(self) -> None:
        while not self._closing.is_set():
            try:
                conn, _ = self._listener.accept()
            except TimeoutError:
                self._drain()
                continue
            conn.setblocking(False)
            self._held.append(conn)
            self.connections += 1
            self._drain()

    def _drain(self) -> None:
        """Read and drop what clients sent, so their writes never block; answer nothing."""
        for conn in self._held:
            try:
                while conn.recv(65536):
                    pass
            except (BlockingIOError, OSError):
                continue
