"""Connect only to addresses the outbound guard approved, at the moment of connecting.

Checking a URL's host and then letting the HTTP library resolve it again leaves a gap: a
name can resolve to a public address for the check and to 169.254.169.254 for the connect
(DNS rebinding). So the check happens where the connection is made: the HTTP transport from
:func:`guarded_transport` resolves each host itself when it opens a connection, refuses the
host if any address breaks the rule, and connects to an approved address only. TLS still
verifies the certificate against the host *name*, and the connection pool is still keyed by
it. :func:`open_guarded_connection` does the same for plain TCP probes.

A caller-supplied httpx transport (a proxy, a test double) cannot be steered to an address;
it gets the check right before each request instead.

Example:
    >>> import asyncio
    >>> async def main() -> str:
    ...     transport = guarded_transport(OutboundGuard())
    ...     async with httpx.AsyncClient(transport=transport) as http:
    ...         try:
    ...             await http.get("http://169.254.169.254/latest/meta-data/")
    ...         except OutboundRefusedError as exc:
    ...             return exc.rule
    ...     return "sent"
    >>> asyncio.run(main())
    '169.254.169.254 is link-local (169.254.0.0/16, where metadata services answer) (always refused)'

"""  # noqa: E501

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from typing import Any

import httpcore
import httpx

from clients.outbound_guard import IPAddress, OutboundGuard, OutboundRefusedError

__all__ = ["GuardedNetworkBackend", "guarded_transport", "open_guarded_connection"]

# httpcore's socket options: (level, option, value) tuples, passed through untouched.
SocketOption = tuple[Any, ...]


class GuardedNetworkBackend(httpcore.AsyncNetworkBackend):
    """An httpcore network backend that resolves, checks, then connects to a checked address.

    Args:
        guard: The outbound guard.
        inner: The backend that really connects (anyio's by default).

    Example:
        pool = httpcore.AsyncConnectionPool(network_backend=GuardedNetworkBackend(guard))

    """

    def __init__(
        self, guard: OutboundGuard, inner: httpcore.AsyncNetworkBackend | None = None
    ) -> None:
        self._guard = guard
        self._inner = inner or httpcore.AnyIOBackend()

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,  # noqa: ASYNC109 - httpcore's interface
        local_address: str | None = None,
        socket_options: Iterable[SocketOption] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        """Connect to the first approved address of ``host`` that accepts."""
        addresses = await _checked(self._guard, host, port, timeout)
        options = list(socket_options) if socket_options is not None else None
        failure: Exception | None = None
        for address in addresses:
            try:
                return await self._inner.connect_tcp(
                    str(address),
                    port,
                    timeout=timeout,
                    local_address=local_address,
                    socket_options=options,
                )
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as exc:
                failure = exc
        assert failure is not None  # _checked never returns an empty list
        raise failure

    async def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,  # noqa: ASYNC109 - httpcore's interface
        socket_options: Iterable[SocketOption] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        """Refused: a Unix socket is a local resource the guard cannot judge."""
        raise OutboundRefusedError(path, "Unix sockets are not an outbound destination")

    async def sleep(self, seconds: float) -> None:
        """Sleep the way the inner backend does."""
        await self._inner.sleep(seconds)


class _GuardedHTTPTransport(httpx.AsyncHTTPTransport):
    """httpx's own transport, with a connection pool that connects through the guard."""

    def __init__(self, guard: OutboundGuard) -> None:
        super().__init__()
        # httpx builds its pool without a way to pass a network backend, so the pool is
        # rebuilt here with the same defaults and the guarded backend.
        limits = httpx.Limits(max_connections=100, max_keepalive_connections=20)
        self._pool = httpcore.AsyncConnectionPool(
            ssl_context=httpx.create_ssl_context(),
            max_connections=limits.max_connections,
            max_keepalive_connections=limits.max_keepalive_connections,
            keepalive_expiry=limits.keepalive_expiry,
            network_backend=GuardedNetworkBackend(guard),
        )


class _PrecheckedTransport(httpx.AsyncBaseTransport):
    """Checks each request's host before handing it to a caller-supplied transport."""

    def __init__(self, inner: httpx.AsyncBaseTransport, guard: OutboundGuard) -> None:
        self._inner = inner
        self._guard = guard

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        port = request.url.port or (443 if request.url.scheme == "https" else 80)
        try:
            await self._guard.checked_addresses(request.url.host, port)
        except OSError as exc:
            raise httpx.ConnectError(f"cannot resolve {request.url.host}: {exc}") from None
        return await self._inner.handle_async_request(request)

    async def aclose(self) -> None:
        await self._inner.aclose()


def guarded_transport(
    guard: OutboundGuard, inner: httpx.AsyncBaseTransport | None = None
) -> httpx.AsyncBaseTransport:
    """An httpx transport whose every request passes ``guard``.

    Args:
        guard: The outbound guard.
        inner: A transport of the caller's (proxy, test double). Without one, connections
            are made to checked addresses only; with one, the host is checked right before
            each request is handed over.

    Returns:
        The transport; a refused host raises :class:`OutboundRefusedError` from the request.

    Example:
        async with httpx.AsyncClient(transport=guarded_transport(OutboundGuard())) as http:
            await http.post(url, content=body)

    """
    if inner is None:
        return _GuardedHTTPTransport(guard)
    return _PrecheckedTransport(inner, guard)


async def open_guarded_connection(
    guard: OutboundGuard, host: str, port: int
) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    """Open a TCP connection to an approved address of ``host`` (like ``open_connection``).

    Raises:
        OutboundRefusedError: The host or one of its addresses is refused.
        OSError: It does not resolve, or no address accepts.

    Example:
        reader, writer = await open_guarded_connection(OutboundGuard(), "203.0.113.7", 22)

    """
    failure: OSError | None = None
    for address in await guard.checked_addresses(host, port):
        try:
            return await asyncio.open_connection(str(address), port)
        except OSError as exc:
            failure = exc
    assert failure is not None  # checked_addresses never returns an empty list
    raise failure


async def _checked(
    guard: OutboundGuard, host: str, port: int, time_limit: float | None
) -> list[IPAddress]:
    """Resolve and check within the connect timeout, in httpcore's exception vocabulary."""
    try:
        async with asyncio.timeout(time_limit):
            return await guard.checked_addresses(host, port)
    except TimeoutError:
        raise httpcore.ConnectTimeout(f"resolving {host} timed out") from None
    except OutboundRefusedError:
        raise
    except OSError as exc:
        raise httpcore.ConnectError(f"cannot resolve {host}: {exc}") from None
