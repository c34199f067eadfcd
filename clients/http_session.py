"""One ``httpx.AsyncClient`` opened by ``async with`` and shared by every call until closed.

The webhook sender and the endpoint prober both talk to hosts they do not control: they share
this way of holding a client, so both get the same rules (no redirects followed, a
``User-Agent`` of their own, a per-attempt timeout, every connection through the outbound
guard of :mod:`clients.outbound_guard`) and the same misuse error.

Example:
    >>> import asyncio
    >>> class Pinger(HttpSession):
    ...     async def status(self, url: str) -> int:
    ...         return (await self.http.get(url)).status_code
    >>> async def main() -> int:
    ...     transport = httpx.MockTransport(lambda request: httpx.Response(204))
    ...     # A transport of the caller's gets the guard's check before each request.
    ...     async with Pinger(user_agent="pinger/1", timeout=2.0, transport=transport) as p:
    ...         return await p.status("http://127.0.0.1:9/")
    >>> asyncio.run(main())
    204

"""

from __future__ import annotations

from collections.abc import Sequence
from types import TracebackType
from typing import Self

import httpx

from clients.guarded_connect import guarded_transport
from clients.outbound_guard import OutboundGuard, OutboundPolicy, Resolver

__all__ = ["HttpSession"]


class HttpSession:
    """Base of clients that hold one ``httpx.AsyncClient`` between ``async with`` and exit.

    Args:
        user_agent: The ``User-Agent`` header of every request.
        timeout: Seconds allowed per attempt (connect, write, read each).
        transport: An httpx transport to use instead of the network (proxies, tests).
        strict_outbound: Also refuse loopback, private and other non-public addresses
            (link-local and cloud metadata addresses are refused in any case).
        outbound_allow_list: Host names, addresses or CIDRs that strict mode lets through.
        resolver: Name resolution for the guard; the system's by default.

    Redirects are never followed: a 3xx is an answer in itself for both users (a webhook
    must not be re-posted to wherever a 3xx points; a probe must not wander to other hosts).

    Example:
        class WebhookSender(HttpSession):
            async def deliver(self, url: str, body: bytes) -> int:
                return (await self.http.post(url, content=body)).status_code

    """

    def __init__(
        self,
        *,
        user_agent: str,
        timeout: float,
        transport: httpx.AsyncBaseTransport | None = None,
        strict_outbound: bool = False,
        outbound_allow_list: Sequence[str] = (),
        resolver: Resolver | None = None,
    ) -> None:
        self._user_agent = user_agent
        self._timeout = timeout
        self._transport = transport
        self.guard = OutboundGuard(
            OutboundPolicy(strict=strict_outbound, allow_list=tuple(outbound_allow_list)),
            resolver=resolver,
        )
        self._client: httpx.AsyncClient | None = None

    @property
    def http(self) -> httpx.AsyncClient:
        """The open client.

        Raises:
            RuntimeError: Used outside ``async with``.

        Example:
            async with WebhookSender(secret) as sender:
                response = await sender.http.get(url)

        """
        if self._client is None:
            name = type(self).__name__
            raise RuntimeError(f"{name} must be used as 'async with {name}(...)'")
        return self._client

    async def __aenter__(self) -> Self:
        """Open the HTTP client shared by every call."""
        self._client = httpx.AsyncClient(
            timeout=self._timeout,
            transport=guarded_transport(self.guard, self._transport),
            follow_redirects=False,
            headers={"User-Agent": self._user_agent},
        )
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        """Close the HTTP client; the session may be opened again afterwards."""
        if self._client is not None:
            await self._client.aclose()
            self._client = None
