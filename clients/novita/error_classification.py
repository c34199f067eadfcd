"""Which error a failed Novita call becomes: reading error bodies and transport failures.

The one place that maps an HTTP answer (status, Novita's ``reason``, its message text) or an
httpx network failure to a :mod:`clients.novita.errors` class, and fills the error with
what the server said, secrets scrubbed. The retry policy reads the resulting error's
``retryable`` flag, so the classification and the policy cannot drift apart.

Example:
    >>> response = httpx.Response(400, json={"code": 400, "reason": "INSUFFICIENT_RESOURCE",
    ...     "message": "insufficient resource", "metadata": {}})
    >>> error = error_from_response(response, "create instance", target="in cluster us-ca-6")
    >>> isinstance(error, errors.NovitaCapacityError), error.retryable, error.reason
    (True, False, 'INSUFFICIENT_RESOURCE')
    >>> print(error)  # doctest: +NORMALIZE_WHITESPACE
    Novita refused to create instance in cluster us-ca-6: not enough capacity
    (INSUFFICIENT_RESOURCE, HTTP 400: insufficient resource)

"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from typing import Any

import httpx

from clients.novita import errors
from clients.novita.error_base import NovitaError
from clients.novita.json_body import decode_json
from clients.novita.redaction import redact, redact_value
from clients.novita.retry_after import parse_retry_after

__all__ = [
    "AUTH_REASONS",
    "BILLING_REASONS",
    "CAPACITY_REASONS",
    "INVALID_STATE_REASONS",
    "NOT_FOUND_REASONS",
    "QUOTA_REASONS",
    "error_from_response",
    "error_from_transport",
]

AUTH_REASONS = frozenset(
    {
        "UNAUTHORIZED",
        "FORBIDDEN",
        "INVALID_API_KEY",
        "GET_TOKEN_FAILED",
        "USER_NOT_FOUND",
        "BANNED_USER",
    }
)
"""Reasons meaning the key or the account behind it is not allowed in, whatever the status."""

# Region-scoped: another cluster (or later) may well succeed, so provisioning may fail over.
CAPACITY_REASONS = frozenset(
    {
        "INSUFFICIENT_RESOURCE",
        "MIGRATE_INSUFFICIENT_RESOURCE",
        "CLUSTER_STATUS",
        "NODE_STATUS",
        "GPU_SPEC_USED",
    }
)
"""Reasons raised as :class:`NovitaCapacityError` (not enough machines where it was asked)."""

# Account-scoped limits. Still capacity errors (DESIGN §5 fails over on quota), but a subclass
# so a policy can tell that another region will most likely say the same.
QUOTA_REASONS = frozenset({"CREATE_INSTANCE_LIMIT", "CREATE_GPU_NUM_LIMIT", "OPERATION_LIMIT"})
"""Reasons raised as :class:`NovitaQuotaError` (an account limit, not a cluster shortage)."""

# Money problems are neither capacity (no region fixes them) nor a malformed request.
BILLING_REASONS = frozenset({"BALANCE_NOT_ENOUGH", "EXPIRED_OR_BALANCE_NOT_ENOUGH"})
"""Reasons raised as :class:`NovitaBillingError`."""

NOT_FOUND_REASONS = frozenset(
    {
        "RESOURCE_NOT_FOUND",
        "TEMPLATE_NOT_FOUND",
        "JOB_NOT_FOUND",
        "IMAGE_NOT_FOUND",
        "NETWORK_NOT_FOUND",
        "NETWORK_STORAGE_NOT_FOUND",
        "INSTANCE_LOCAL_STORAGE_NOT_FOUND",
        "ORDER_NOT_FOUND",
    }
)
"""Reasons raised as :class:`NovitaNotFoundError` (any other 4xx ``*_NOT_FOUND`` too)."""

INVALID_STATE_REASONS = frozenset(
    {
        "INVALID_STATE_CHANGE",
        "DEPENDENT_RESOURCE_STATE",
        "PREPAID_INSTANCE_NOT_SUPPORT_RELEASE",
        "MIGRATION_JOB_NOT_BREAKABLE",
    }
)
"""Reasons raised as :class:`NovitaInvalidStateError`."""

_INVALID_STATE_TEXT = re.compile(r"invalid state", re.IGNORECASE)
_NOT_FOUND_TEXT = re.compile(r"not\s*found|does not exist|no such", re.IGNORECASE)
_CAPACITY_TEXT = re.compile(r"insufficient[ _]resource", re.IGNORECASE)
# Reasons too vague to trust over the message text ("" = no reason at all).
_GENERIC_REASONS = frozenset({"", "REQUEST", "BAD_REQUEST", "UNKNOWN"})
_REQUEST_ID_HEADERS = ("x-request-id", "x-trace-id", "x-correlation-id", "request-id", "trace-id")
# Never keep more than this much of the server's own text in one of our messages.
_MAX_API_MESSAGE = 300
_MAX_REASON = 80  # Novita's reasons are UPPER_SNAKE words of 10-40 characters
_MAX_REQUEST_ID = 100


def _request_id(
    headers: httpx.Headers, metadata: Mapping[str, Any], secrets: tuple[str, ...]
) -> str | None:
    for name in _REQUEST_ID_HEADERS:
        value = headers.get(name)
        if value:
            # A header is the server's text like the body: scrubbed and kept short.
            return redact(value, secrets)[:_MAX_REQUEST_ID]
    for key in ("requestId", "request_id", "traceId", "trace_id"):
        value = metadata.get(key)
        if isinstance(value, str) and value:
            return value[:_MAX_REQUEST_ID]
    return None


def _fill_placeholders(message: str, metadata: Mapping[str, Any]) -> str:
    # Novita's console substitutes "${0}" from metadata {"0": ...}; do the same so messages
    # read "limit of 8 GPUs" rather than "limit of ${0} GPUs".
    def repl(match: re.Match[str]) -> str:
        value = metadata.get(match.group(1))
        return str(value) if value is not None else match.group(0)

    return re.sub(r"\$\{(\w+)\}", repl, message)


def _parse_body(response: httpx.Response) -> tuple[str | None, str | None, dict[str, Any], bool]:
    """Return (reason, message, metadata, is_json) from any error body."""
    if not response.content:
        return None, None, {}, False
    try:
        body = decode_json(response.content)
    except ValueError:  # not JSON, not UTF-8, or nested too deep: read as a non-JSON page
        return None, None, {}, False
    if not isinstance(body, dict):
        return None, (body if isinstance(body, str) else None), {}, True
    if isinstance(body.get("error"), dict):
        # Some gateways wrap the envelope: {"error": {"code", "reason", "message"}}.
        body = {**body, **body["error"]}
    reason = body.get("reason")
    reason = str(reason).strip() if reason not in (None, "") else None
    message: Any = body.get("message")
    if message in (None, ""):
        message = body.get("msg") or body.get("detail") or body.get("error")
    if isinstance(message, list):
        # FastAPI-style {"detail": [{"loc": [...], "msg": "..."}]}.
        texts = [
            f"{_location(item.get('loc'))}: {item.get('msg')}"
            if isinstance(item, dict)
            else str(item)
            for item in message
        ]
        message = "; ".join(texts)
    elif message is not None and not isinstance(message, str):
        message = json.dumps(message, separators=(",", ":"))
    metadata = body.get("metadata")
    metadata = dict(metadata) if isinstance(metadata, dict) else {}
    return reason, message or None, metadata, True


def _location(loc: Any) -> str:
    # FastAPI sends ["body", "gpuNum"]; a server may send a bare string or anything else.
    parts = loc if isinstance(loc, list) else [] if loc is None else [loc]
    return ".".join(str(part) for part in parts)


def _classify(status: int, reason: str | None, message: str | None) -> type[NovitaError]:
    upper = (reason or "").upper()
    text = message or ""
    if status in (401, 403) or upper in AUTH_REASONS or upper.endswith("API_KEY"):
        return errors.NovitaAuthenticationError
    if status == 429 or upper == "RATE_LIMIT_EXCEEDED":
        return errors.NovitaRateLimitError
    if status < 500:
        if upper in NOT_FOUND_REASONS or upper.endswith("_NOT_FOUND"):
            return errors.NovitaNotFoundError
        if upper in QUOTA_REASONS:
            return errors.NovitaQuotaError
        if upper in CAPACITY_REASONS:
            return errors.NovitaCapacityError
        if upper in BILLING_REASONS:
            return errors.NovitaBillingError
        if upper in INVALID_STATE_REASONS:
            return errors.NovitaInvalidStateError
    if status == 404:
        return errors.NovitaNotFoundError
    if status == 408:
        return errors.NovitaRequestTimeoutError
    if status >= 500:
        return errors.NovitaServerError
    if 400 <= status < 500:
        # Reasons are sometimes missing or generic (REQUEST): fall back on the words.
        if _INVALID_STATE_TEXT.search(text):
            return errors.NovitaInvalidStateError
        if _CAPACITY_TEXT.search(text):
            return errors.NovitaCapacityError
        if upper in _GENERIC_REASONS and _NOT_FOUND_TEXT.search(text):
            return errors.NovitaNotFoundError
        return errors.NovitaInvalidRequestError
    return errors.NovitaUnexpectedResponseError


def error_from_response(
    response: httpx.Response,
    operation: str,
    *,
    target: str | None = None,
    idempotent: bool = True,
    secrets: Iterable[str] = (),
) -> NovitaError:
    """Build the right :class:`NovitaError` for a failed HTTP answer.

    Reads the Novita envelope when the body is JSON and falls back on the status code for
    HTML or empty bodies. The request (headers, body) is never looked at.

    Args:
        response: The httpx response with a non-2xx status.
        operation: What was attempted, in words ("create instance").
        target: What it applied to ("'train-1' in cluster us-ca-6"), if useful.
        idempotent: False for calls that must not be repeated blindly (create).
        secrets: Strings to scrub from anything the server echoed (API key, image auth).

    Returns:
        An error instance, ready to raise.

    Example:
        >>> response = httpx.Response(400, json={"code": 400, "reason": "INSUFFICIENT_RESOURCE",
        ...                                      "message": "no gpu", "metadata": {}})
        >>> error_from_response(response, "create instance")
        NovitaCapacityError(operation='create instance', status_code=400, ...)

    """
    secret_list = tuple(secrets)
    status = response.status_code
    reason, message, metadata, is_json = _parse_body(response)
    if message:
        message = _fill_placeholders(message, metadata)
        message = redact(message, secret_list)
        if len(message) > _MAX_API_MESSAGE:
            message = message[: _MAX_API_MESSAGE - 3] + "..."
    if reason:
        reason = redact(reason, secret_list)[:_MAX_REASON]
    metadata = redact_value(metadata, secret_list)
    if not is_json and not message:
        phrase = response.reason_phrase or "error"
        kind = "empty body" if not response.content else "non-JSON body"
        message = f"{phrase} ({kind})"
    cls = _classify(status, reason, message)
    kwargs: dict[str, Any] = {
        "operation": operation,
        "target": target,
        "status_code": status,
        "reason": reason,
        "api_message": message,
        "metadata": metadata,
        "request_id": _request_id(response.headers, metadata, secret_list),
        "idempotent": idempotent,
    }
    if cls is errors.NovitaServerError:
        # A 503 is the server declining up front; 500/502/504 may follow a backend action.
        kwargs["maybe_processed"] = status not in (503,)
    if issubclass(cls, errors.NovitaRateLimitError):
        return cls(retry_after=parse_retry_after(response.headers), **kwargs)
    return cls(**kwargs)


def error_from_transport(
    exc: httpx.RequestError,
    operation: str,
    *,
    target: str | None = None,
    idempotent: bool = True,
    secrets: Iterable[str] = (),
) -> errors.NovitaTransportError:
    """Turn an httpx transport failure into a :class:`NovitaTransportError`.

    Connect and pool failures prove the request never left, so ``maybe_processed`` is False;
    write/read failures and a server hanging up mid-answer set it True.

    Args:
        exc: The httpx exception (its request, which holds the key, is not kept).
        operation: What was attempted, in words.
        target: What it applied to, if useful.
        idempotent: False for calls that must not be repeated blindly (create).
        secrets: Strings to scrub from the exception text.

    Returns:
        A :class:`NovitaTimeoutError` or :class:`NovitaConnectionError`.

    Example:
        >>> error_from_transport(httpx.ConnectError("refused"), "list clusters")
        NovitaConnectionError(operation='list clusters', ...)

    """
    not_sent = isinstance(exc, httpx.ConnectError | httpx.ConnectTimeout | httpx.PoolTimeout)
    detail = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
    detail = redact(detail, tuple(secrets))
    cls: type[errors.NovitaTransportError]
    if isinstance(exc, httpx.TimeoutException):
        cls = errors.NovitaTimeoutError
    else:
        cls = errors.NovitaConnectionError
    # Proxy/TLS misconfiguration and unsupported protocols will not heal on retry.
    permanent = isinstance(exc, httpx.UnsupportedProtocol | httpx.ProxyError)
    return cls(
        operation=operation,
        target=target,
        api_message=detail[:_MAX_API_MESSAGE],
        maybe_processed=not not_sent,
        retryable=False if permanent else None,
        idempotent=idempotent,
    )
