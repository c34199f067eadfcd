"""One HTTP attempt of a Novita call, bounded in time and in size, turned into JSON or an error.

httpx's timeouts apply to each network operation: a server that trickles one byte a second
never trips a 30 s read timeout and can keep a worker waiting for minutes, and a body read
with ``response.content`` is held whole, however large. So every attempt here

* runs under one overall deadline (connect, send, and the whole response), raising
  :class:`~clients.novita.errors.NovitaDeadlineExceededError` when it passes;
* reads the body as a stream and stops as soon as it passes ``max_response_bytes``
  (a declared ``Content-Length`` over the limit stops it before any body is read), raising
  :class:`~clients.novita.errors.NovitaResponseTooLargeError`. An error answer is read only
  as far as an envelope or a gateway page can reach; the rest is dropped, and the status
  still decides the error class.

Retrying is not decided here (see :mod:`clients.novita.retry`).

Example:
    >>> import asyncio
    >>> async def main():
    ...     transport = httpx.MockTransport(lambda request: httpx.Response(200, json={"a": 1}))
    ...     async with httpx.AsyncClient(transport=transport, base_url="http://novita") as http:
    ...         return await send_once(http, "GET", "/x", call=CallContext("read x"))
    >>> asyncio.run(main())
    {'a': 1}

"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass
from typing import Any

import httpx

from clients.novita.error_classification import error_from_response, error_from_transport
from clients.novita.errors import (
    NovitaDeadlineExceededError,
    NovitaResponseTooLargeError,
    NovitaUnexpectedResponseError,
)
from clients.novita.json_body import JSONTooDeepError, decode_json
from clients.novita.redaction import redact

__all__ = [
    "DEFAULT_MAX_RESPONSE_BYTES",
    "DEFAULT_REQUEST_DEADLINE",
    "AttemptLimits",
    "CallContext",
    "send_once",
]

logger = logging.getLogger(__name__)

DEFAULT_REQUEST_DEADLINE = 10.0
"""Seconds one attempt may take in all: connect, send, and the whole response.

Ten seconds bounds one operation against a silent Novita at about 45 s (four attempts and
their waits, `clients/novita/retry.py`); Novita answers its largest page well within it."""

DEFAULT_MAX_RESPONSE_BYTES = 8 * 1024 * 1024
"""8 MiB: a 100-instance page is a few hundred KB; anything near this is not a normal answer."""

# Enough for any error envelope or gateway page; what follows is dropped unread.
_ERROR_BODY_BYTES = 64 * 1024
# A content type is a few dozen characters; anything longer is not worth repeating.
_MAX_CONTENT_TYPE = 80
# Headers that describe the body as it came over the wire, not the decoded bytes we keep.
_WIRE_HEADERS = frozenset({"content-encoding", "content-length", "transfer-encoding"})


@dataclass(frozen=True)
class CallContext:
    """What a call is, for its error messages and its retry safety.

    Attributes:
        operation: What is attempted, in words ("list products").
        target: What it applies to ("instance 07ed667185a895bb"), if useful.
        idempotent: False for calls that must not be repeated blindly (create).
        secrets: Strings to scrub from anything the server echoes (API key, image auth).

    Example:
        >>> CallContext("stop instance", target="07ed667185a895bb").idempotent
        True

    """

    operation: str
    target: str | None = None
    idempotent: bool = True
    secrets: tuple[str, ...] = ()


@dataclass(frozen=True)
class AttemptLimits:
    """How long one attempt may take and how large an answer may be.

    Attributes:
        deadline: Seconds for connect + send + the whole response.
        max_response_bytes: Largest (decoded) success body accepted.

    Example:
        >>> AttemptLimits().deadline, AttemptLimits().max_response_bytes
        (10.0, 8388608)

    """

    deadline: float = DEFAULT_REQUEST_DEADLINE
    max_response_bytes: int = DEFAULT_MAX_RESPONSE_BYTES

    def __post_init__(self) -> None:
        if not self.deadline > 0:
            raise ValueError("the request deadline must be positive")
        if self.max_response_bytes < 1:
            raise ValueError("max_response_bytes must be at least 1")


class _BodyTooLarge(Exception):
    """The body passed the limit (internal: the caller knows what the call was)."""

    def __init__(self, status_code: int) -> None:
        super().__init__(status_code)
        self.status_code = status_code


async def send_once(
    http: httpx.AsyncClient,
    method: str,
    path: str,
    *,
    call: CallContext,
    params: dict[str, Any] | None = None,
    json_body: Any = None,
    limits: AttemptLimits | None = None,
) -> Any:
    """Make one request within the limits and return the decoded JSON body.

    Args:
        http: The client holding the connection pool (and the auth header).
        method: HTTP method.
        path: Path under the client's base URL.
        call: What the call is (for errors).
        params: Query parameters (None values already removed).
        json_body: JSON body of a POST.
        limits: Deadline and size limit; the defaults when None.

    Returns:
        The decoded JSON (``{}`` for an empty body).

    Raises:
        NovitaDeadlineExceededError: No complete answer within ``limits.deadline``.
        NovitaResponseTooLargeError: A success body over ``limits.max_response_bytes``.
        NovitaTransportError: No answer (connection refused, httpx timeouts...).
        NovitaError: The subclass for a non-2xx answer (see ``error_from_response``).

    Example:
        body = await send_once(http, "GET", "/clusters", call=CallContext("list clusters"))

    """
    limits = limits or AttemptLimits()
    started = time.perf_counter()
    deadline = asyncio.timeout(limits.deadline)
    try:
        async with deadline:
            async with http.stream(method, path, params=params or None, json=json_body) as response:
                if response.is_success:
                    content = await _read_within(response, limits.max_response_bytes)
                else:
                    content = await _read_head(response, _ERROR_BODY_BYTES)
    except TimeoutError:
        if not deadline.expired():
            raise
        raise NovitaDeadlineExceededError(
            operation=call.operation,
            target=call.target,
            deadline_seconds=limits.deadline,
            idempotent=call.idempotent,
        ) from None
    except httpx.RequestError as exc:
        # `from None`: the httpx exception holds the request, whose headers hold the key.
        raise error_from_transport(
            exc,
            call.operation,
            target=call.target,
            idempotent=call.idempotent,
            secrets=call.secrets,
        ) from None
    except _BodyTooLarge as too_large:
        raise NovitaResponseTooLargeError(
            operation=call.operation,
            target=call.target,
            status_code=too_large.status_code,
            limit_bytes=limits.max_response_bytes,
            idempotent=call.idempotent,
        ) from None
    logger.debug(
        "Novita %s %s params=%s -> %d (%d bytes) in %.0f ms",
        method,
        path,
        params,
        response.status_code,
        len(content),
        (time.perf_counter() - started) * 1000,
    )
    if not response.is_success:
        raise error_from_response(
            _with_content(response, content),
            call.operation,
            target=call.target,
            idempotent=call.idempotent,
            secrets=call.secrets,
        )
    if not content.strip():
        return {}
    try:
        return decode_json(content)
    except JSONTooDeepError as exc:
        what = str(exc)
    except ValueError:
        content_type = response.headers.get("content-type", "no content type")
        # The header is the server's text: scrub it and keep it short, like any echo.
        content_type = redact(content_type, call.secrets)[:_MAX_CONTENT_TYPE]
        what = f"non-JSON body ({content_type})"
    raise NovitaUnexpectedResponseError(
        operation=call.operation,
        target=call.target,
        status_code=response.status_code,
        api_message=what,
        idempotent=call.idempotent,
    )


async def _read_within(response: httpx.Response, limit: int) -> bytes:
    """Read the whole body, or raise ``_BodyTooLarge`` as soon as it passes ``limit``."""
    declared = response.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise _BodyTooLarge(response.status_code)
    chunks: list[bytes] = []
    size = 0
    async for chunk in response.aiter_bytes():
        size += len(chunk)
        if size > limit:
            raise _BodyTooLarge(response.status_code)
        chunks.append(chunk)
    return b"".join(chunks)


async def _read_head(response: httpx.Response, limit: int) -> bytes:
    """Read at most ``limit`` bytes of the body and drop the rest."""
    chunks: list[bytes] = []
    size = 0
    async for chunk in response.aiter_bytes():
        chunks.append(chunk[: limit - size])
        size += len(chunks[-1])
        if size >= limit:
            break
    return b"".join(chunks)


def _with_content(response: httpx.Response, content: bytes) -> httpx.Response:
    """A copy of a streamed response holding the (decoded) bytes that were read."""
    # The raw bytes: a header value that is not ASCII (any byte a server may send) would not
    # survive being decoded here and encoded again as ASCII by httpx.Response.
    headers = [
        (k, v) for k, v in response.headers.raw if k.decode("latin-1").lower() not in _WIRE_HEADERS
    ]
    extensions = {}
    if "reason_phrase" in response.extensions:
        extensions["reason_phrase"] = response.extensions["reason_phrase"]
    return httpx.Response(
        response.status_code, headers=headers, content=content, extensions=extensions
    )
