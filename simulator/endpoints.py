"""The instances' own endpoints: real HTTP pages and one TCP listener.

Each http port mapping of an instance points at
``http://<simulator>/_endpoints/<instanceId>/<port>``, served here like Novita's gateway
serves ``https://<id>-<port>.<cluster>.gpu-instance.novita.ai``:

- 502 with an nginx-style "Bad Gateway" page while the instance is not ``running`` or its
  application is still booting (``Timings.app_boot`` after ``running``);
- 200 with a small HTML page once the application is up;
- a forced 502/503/500 page, or a hang (then 504), when the app health of the instance is
  set (:meth:`simulator.faults.Faults.set_app_health`);
- 404 for an unknown instance or a port that is not an http mapping.

tcp mappings all point at one TCP listener (``127.0.0.1:<port>``) that accepts every
connection, writes an SSH-style banner and closes. One shared listener cannot tell which
instance a connection is for, so it accepts whatever the instance's status: a TCP check
proves reachability of the address, not that the instance runs (check ``status`` for that).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

from fastapi import APIRouter
from fastapi.responses import HTMLResponse, Response

from simulator.faults import hold
from simulator.state import SimulatorState

__all__ = ["SSH_BANNER", "build_endpoints_router", "gateway_page", "start_tcp_listener"]

logger = logging.getLogger(__name__)

SSH_BANNER = b"SSH-2.0-NovitaSimulator\r\n"
"""What the TCP listener writes before closing."""

_TITLES = {
    404: "404 Not Found",
    500: "500 Internal Server Error",
    502: "502 Bad Gateway",
    503: "503 Service Temporarily Unavailable",
    504: "504 Gateway Time-out",
}


def gateway_page(status: int) -> HTMLResponse:
    """An nginx-style error page, as a gateway in front of a dead app answers.

    Example:
        >>> gateway_page(502).status_code
        502

    """
    title = _TITLES.get(status, f"{status} Error")
    html = (
        f"<html>\r\n<head><title>{title}</title></head>\r\n<body>\r\n"
        f"<center><h1>{title}</h1></center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n"
    )
    return HTMLResponse(html, status_code=status)


def _app_page(instance_id: str, port: str) -> HTMLResponse:
    html = (
        "<!doctype html><html><head><title>Simulated application</title></head>"
        f"<body><h1>OK</h1><p>instance {instance_id}, port {port}</p></body></html>"
    )
    return HTMLResponse(html)


def build_endpoints_router(state: SimulatorState) -> APIRouter:
    """Routes of ``/_endpoints/{instance_id}/{port}`` (no auth, no API faults).

    Example:
        >>> router = build_endpoints_router(SimulatorState())
        >>> router.routes[0].path
        '/_endpoints/{instance_id}/{port}'

    """
    router = APIRouter(include_in_schema=False)

    @router.api_route("/_endpoints/{instance_id}/{port}", methods=["GET", "HEAD", "POST"])
    async def endpoint(instance_id: str, port: str) -> Response:
        kind, hang_seconds = state.endpoint_state(instance_id, port)
        if kind in ("unknown", "unmapped"):
            return gateway_page(404)
        if kind == "up":
            return _app_page(instance_id, port)
        if kind == "hang":
            await hold(hang_seconds, state.closing)
            return gateway_page(504)
        if kind == "down":
            return gateway_page(502)
        return gateway_page(int(kind))

    return router


async def _greet_and_close(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    with contextlib.suppress(ConnectionError):
        writer.write(SSH_BANNER)
        await writer.drain()
    writer.close()
    with contextlib.suppress(ConnectionError):
        await writer.wait_closed()


async def start_tcp_listener(host: str, port: int) -> asyncio.Server:
    """Start the shared TCP listener of tcp port mappings (call inside the server loop).

    Args:
        host: Interface to bind.
        port: Port to bind; 0 picks a free one (read it from ``server.sockets``).

    Example:
        >>> async def main() -> int:
        ...     server = await start_tcp_listener("127.0.0.1", 0)
        ...     server.close()
        ...     return 1
        >>> asyncio.run(main())
        1

    """
    server = await asyncio.start_server(_greet_and_close, host, port)
    logger.debug("TCP listener on %s", server.sockets[0].getsockname())
    return server
