"""A real local HTTP server that answers badly on purpose: too slowly, or far too much."""

from __future__ import annotations

import socket
import socketserver
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

# What the server streams in its huge answers: the start of a JSON list that never ends.
_FILLER = b'{"id": "p", "name": "filler"},' * 2048


@dataclass
class ServerScript:
    """How the server answers, and what it saw.

    Attributes:
        mode: "trickle" (headers at once, then one body byte every ``interval`` seconds),
            "huge-declared" (a 200 MB Content-Length, body streamed) or "huge-chunked"
            (200 MB in chunks, no length announced).
        interval: Seconds between trickled bytes.
        huge_bytes: Size of a huge answer.
        requests: How many requests arrived.
        sent_bytes: Body bytes written before the client hung up (huge modes).

    """

    mode: str
    interval: float = 0.5
    huge_bytes: int = 200 * 1024 * 1024
    requests: int = 0
    sent_bytes: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)


class _Handler(socketserver.BaseRequestHandler):
    server: _Server

    def handle(self) -> None:
        script = self.server.script
        conn: socket.socket = self.request
        if not _read_request_head(conn):
            return
        with script.lock:
            script.requests += 1
        try:
            if script.mode == "trickle":
                _trickle(conn, script)
            else:
                _flood(conn, script)
        except OSError:
            pass  # the client gave up and hung up: exactly what the tests wait for


class _Server(socketserver.ThreadingTCPServer):
    daemon_threads = True
    block_on_close = False
    allow_reuse_address = True

    def __init__(self, script: ServerScript) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.script = script


def _read_request_head(conn: socket.socket) -> bool:
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = conn.recv(65536)
        if not chunk:
            return False
        data += chunk
    return True


def _trickle(conn: socket.socket, script: ServerScript) -> None:
    body = b'{"data": []}' + b" " * 4000
    conn.sendall(
        b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
        + f"Content-Length: {len(body)}\r\n\r\n".encode()
    )
    for index in range(len(body)):
        conn.sendall(body[index : index + 1])
        time.sleep(script.interval)


def _flood(conn: socket.socket, script: ServerScript) -> None:
    head = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
    chunked = script.mode == "huge-chunked"
    if chunked:
        head += b"Transfer-Encoding: chunked\r\n\r\n"
    else:
        head += f"Content-Length: {script.huge_bytes}\r\n\r\n".encode()
    conn.sendall(head)
    sent = 0
    while sent < script.huge_bytes:
        piece = _FILLER[: script.huge_bytes - sent]
        if chunked:
            conn.sendall(f"{len(piece):x}\r\n".encode() + piece + b"\r\n")
        else:
            conn.sendall(piece)
        sent += len(piece)
        with script.lock:
            script.sent_bytes = sent
    if chunked:
        conn.sendall(b"0\r\n\r\n")


@contextmanager
def misbehaving_server(script: ServerScript) -> Iterator[str]:
    """Serve ``script`` on 127.0.0.1 and yield the base URL; stop on exit."""
    server = _Server(script)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        host, port = server.server_address[:2]
        yield f"http://{host}:{port}/gpu-instance/openapi/v1"
    finally:
        server.shutdown()
        server.server_close()
