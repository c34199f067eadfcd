"""A real local HTTP receiver for webhook tests, and a sleep that records instead of waiting."""

from __future__ import annotations

import ssl
import threading
import time
from dataclasses import dataclass, field
from email.message import Message
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass
class ReceivedRequest:
    """One request exactly as the receiver got it (raw body bytes, headers)."""

    method: str
    path: str
    headers: Message
    body: bytes


@dataclass
class Receiver:
    """A webhook receiver on 127.0.0.1 answering a scripted list of statuses (then 200)."""

    url: str
    statuses: list[int] = field(default_factory=list)
    delay_s: float = 0.0
    requests: list[ReceivedRequest] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def script(self, *statuses: int) -> None:
        self.statuses[:] = list(statuses)

    def next_status(self) -> int:
        with self.lock:
            return self.statuses.pop(0) if self.statuses else 200


def _handler_for(receiver_ref: list[Receiver]) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            receiver = receiver_ref[0]
            length = int(self.headers.get("Content-Length", "0"))
            body = self.rfile.read(length)
            with receiver.lock:
                receiver.requests.append(ReceivedRequest("POST", self.path, self.headers, body))
            if receiver.delay_s:
                time.sleep(receiver.delay_s)
            status = receiver.next_status()
            try:
                self.send_response(status)
                if 300 <= status < 400:
                    self.send_header("Location", "http://127.0.0.1:9/elsewhere")
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")
            except (BrokenPipeError, ConnectionResetError):
                pass  # the sender timed out and hung up: that is what the test wanted

        def log_message(self, format: str, *args: object) -> None:
            pass  # keep test output clean

    return Handler


class RecordingSleep:
    """Stands in for asyncio.sleep: records each wait, returns at once."""

    def __init__(self) -> None:
        self.waits: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)


def start_receiver(
    tls: ssl.SSLContext | None = None,
) -> tuple[Receiver, ThreadingHTTPServer]:
    """Serve a new receiver on 127.0.0.1 (a free port) in a daemon thread; HTTPS with ``tls``."""
    ref: list[Receiver] = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler_for(ref))
    if tls is not None:
        server.socket = tls.wrap_socket(server.socket, server_side=True)
    host, port = server.server_address[:2]
    scheme = "https" if tls is not None else "http"
    ref.append(Receiver(url=f"{scheme}://{host}:{port}/hooks/novita"))
    threading.Thread(target=server.serve_forever, args=(0.02,), daemon=True).start()
    return ref[0], server
