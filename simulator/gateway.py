"""The API gateway in front of every ``/gpu-instance/openapi/v1`` route (pure ASGI).

For each API request, in this order: record it in the request log, apply the request
faults (rate cap, latency, hang, 429, 5xx; :mod:`simulator.faults`) and count it in the
request stats, check the Bearer key (401 ``UNAUTHORIZED``), then hand it to the routes.
A request without a valid key counts against the rate cap too: the cap is the front door.
Admin and endpoint paths pass straight through. Written as raw ASGI rather than
``BaseHTTPMiddleware`` so that it adds almost no cost per request and can replay the body it
read for the log.
"""

from __future__ import annotations

import hmac
import json
import time
from typing import Any
from urllib.parse import parse_qsl

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from simulator.errors import ApiError
from simulator.faults import hold
from simulator.state import SimulatorState

__all__ = ["API_PREFIX", "ApiGateway", "send_json"]

API_PREFIX = "/gpu-instance/openapi/v1"
"""Where the API is served, as on ``api.novita.ai``."""


async def send_json(
    send: Send, status: int, body: dict[str, Any], headers: dict[str, str] | None = None
) -> None:
    """Send a complete JSON response through a raw ASGI ``send``."""
    raw = json.dumps(body, separators=(",", ":")).encode()
    header_list = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(raw)).encode()),
    ]
    header_list += [(k.lower().encode(), v.encode()) for k, v in (headers or {}).items()]
    await send({"type": "http.response.start", "status": status, "headers": header_list})
    await send({"type": "http.response.body", "body": raw})


async def _read_body(receive: Receive) -> bytes:
    chunks = []
    while True:
        message = await receive()
        if message["type"] != "http.request":
            break
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            break
    return b"".join(chunks)


class ApiGateway:
    """ASGI middleware: request log, faults and Bearer auth for the API prefix.

    Args:
        app: The wrapped ASGI app.
        state: The simulator state (its key, faults, log and clock are read per request).
        prefix: The API base path.

    Example:
        >>> from starlette.applications import Starlette
        >>> gateway = ApiGateway(Starlette(), SimulatorState())
        >>> gateway.prefix
        '/gpu-instance/openapi/v1'

    """

    def __init__(self, app: ASGIApp, state: SimulatorState, prefix: str = API_PREFIX):
        self.app = app
        self.state = state
        self.prefix = prefix

    def _authorized(self, scope: Scope) -> bool:
        for name, value in scope.get("headers", []):
            if name == b"authorization":
                scheme, _, token = value.decode("latin-1").partition(" ")
                return scheme.lower() == "bearer" and hmac.compare_digest(
                    token.strip().encode(), self.state.api_key.encode()
                )
        return False

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Handle one ASGI call."""
        path: str = scope.get("path", "")
        if scope["type"] != "http" or not path.startswith(self.prefix):
            await self.app(scope, receive, send)
            return
        state = self.state
        body = await _read_body(receive)
        relative = path[len(self.prefix) :] or "/"
        query = dict(parse_qsl(scope.get("query_string", b"").decode("latin-1"), True))
        entry = state.requests.record(scope["method"], relative, query, body, state.clock.now())
        # One instant for the cap and the counters, so they agree on every window's edge.
        arrived = time.monotonic()
        decision = state.faults.decide(relative, now=arrived)
        stats = state.request_stats
        stats.record(relative, limited=decision.limited, now=arrived, wall=time.time())
        if decision.delay:
            await hold(decision.delay, state.closing)
        error = decision.error
        if error is None and not self._authorized(scope):
            error = ApiError(401, "UNAUTHORIZED", "invalid or missing API key")
        if error is not None:
            entry["status"] = error.status
            stats.answered(error.status)
            await send_json(send, error.status, error.body(), error.headers)
            return

        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        async def capture(message: Message) -> None:
            if message["type"] == "http.response.start":
                entry["status"] = message["status"]
                stats.answered(message["status"])
            await send(message)

        await self.app(scope, replay, capture)
