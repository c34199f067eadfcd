"""Real local servers for health-check tests, and a fake clock/sleep pair that never waits."""

from __future__ import annotations

import socket
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass(frozen=True)
class Answer:
    """One scripted HTTP answer."""

    status: int = 200
    body: bytes = b"<html><title>Jupyter Server</title></html>"
    headers: tuple[tuple[str, str], ...] = ()


@dataclass
class AppServer:
    """An HTTP app on 127.0.0.1 answering scripted ``Answer``s in turn (then the last one)."""

    url: str
    answers: list[Answer] = field(default_factory=lambda: [Answer()])
    paths: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def script(self, *answers: Answer | int) -> None:
        self.answers[:] = [a if isinstance(a, Answer) else Answer(status=a) for a in answers]

    def next_answer(self, path: str) -> Answer:
        with self.lock:
            self.paths.append(path)
            return self.answers.pop(0) if len(self.answers) > 1 else self.answers[0]

    @property
    def hits(self) -> int:
        return len(self.paths)


def _handler_for(ref: list[AppServer]) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            answer = ref[0].next_answer(self.path)
            try:
                self.send_response(answer.status)
                for name, value in answer.headers:
                    self.send_header(name, value)
                self.send_header("Content-Type", "text/html; charset=utf-8")
                self.send_header("Content-Length", str(len(answer.body)))
                self.end_headers()
                self.wfile.write(answer.body)
            except (BrokenPipeError, ConnectionResetError):
                pass  # the prober read what it needed and hung up

        def log_message(self, format: str, *args: object) -> None:
            pass  # keep test output clean

    return Handler


def start_app_server() -> tuple[AppServer, ThreadingHTTPServer]:
    """Serve a new app on 127.0.0.1 (a free port) in a daemon thread."""
    ref: list[AppServer] = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler_for(ref))
    host, port = server.server_address[:2]
    ref.append(AppServer(url=f"http://{host}:{port}/"))
    threading.Thread(target=server.serve_forever, args=(0.02,), daemon=True).start()
    return ref[0], server


def free_port() -> int:
    """Return a port nothing listens on (bound then released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class FakeTime:
    """A monotonic clock that only moves when the code under test sleeps."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.waits: list[float] = []

    def clock(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.waits.append(seconds)
        self.now += seconds
