"""Errors raised by the Novita client: one class per failure kind, built in one place.

Every failure of a Novita call surfaces as a :class:`NovitaError` subclass, whether the API
answered with its ``{"code", "reason", "message", "metadata"}`` envelope, with an HTML gateway
page, with an empty body, or never answered at all. Callers branch on the class (or on
``reason``), retry code reads ``retryable`` and ``maybe_processed``, and users read ``str(exc)``,
a sentence that says what failed and why.

Secrets never reach an error: the API key and any other secret the client hands over are
scrubbed from the server's text, and no request headers, request bodies or httpx objects are
kept on the exception (a pickled exception in a Prefect result must not carry the key).

Hierarchy (class default of ``retryable`` in brackets; an error of a create that may have
taken effect, ``maybe_processed``, always has ``retryable`` False)::

    NovitaError                          [False]
    ├── NovitaAuthenticationError        [False]  401/403, UNAUTHORIZED, INVALID_API_KEY...
    ├── NovitaNotFoundError              [False]  404, 400 RESOURCE_NOT_FOUND / *_NOT_FOUND
    ├── NovitaRateLimitError             [True]   429 (also Novita's "GPU quota exceeded")
    ├── NovitaCapacityError              [False]  INSUFFICIENT_RESOURCE, CLUSTER_STATUS...
    │   └── NovitaQuotaError             [False]  CREATE_INSTANCE_LIMIT, CREATE_GPU_NUM_LIMIT
    ├── NovitaBillingError               [False]  BALANCE_NOT_ENOUGH...
    ├── NovitaInvalidRequestError        [False]  other 4xx, VALIDATOR_PARAM...
    │   └── NovitaInvalidStateError      [False]  "invalid state change", DEPENDENT_RESOURCE_STATE
    ├── NovitaRequestTimeoutError        [True]   408
    ├── NovitaServerError                [True]   5xx
    ├── NovitaUnexpectedResponseError    [False]  a 2xx body that is not what the API documents
    └── NovitaTransportError             [True]   no HTTP answer
        ├── NovitaTimeoutError           [True]
        └── NovitaConnectionError        [True]

Example:
    >>> response = httpx.Response(400, json={"code": 400, "reason": "INSUFFICIENT_RESOURCE",
    ...     "message": "insufficient resource", "metadata": {}})
    >>> error = error_from_response(response, "create instance", target="in cluster us-ca-6")
    >>> isinstance(error, NovitaCapacityError), error.retryable, error.reason
    (True, False, 'INSUFFICIENT_RESOURCE')
    >>> print(error)  # doctest: +NORMALIZE_WHITESPACE
    Novita refused to create instance in cluster us-ca-6: not enough capacity
    (INSUFFICIENT_RESOURCE, HTTP 400: insufficient resource)

"""

from __future__ import annotations

import email.utils
import json
import math
import re
import time
from collections.abc import Iterable, Mapping
from typing import Any, ClassVar

import httpx

__all__ = [
    "AUTH_REASONS",
    "BILLING_REASONS",
    "CAPACITY_REASONS",
    "INVALID_STATE_REASONS",
    "NOT_FOUND_REASONS",
    "QUOTA_REASONS",
    "NovitaAuthenticationError",
    "NovitaBillingError",
    "NovitaCapacityError",
    "NovitaConnectionError",
    "NovitaError",
    "NovitaInvalidRequestError",
    "NovitaInvalidStateError",
    "NovitaNotFoundError",
    "NovitaQuotaError",
    "NovitaRateLimitError",
    "NovitaRequestTimeoutError",
    "NovitaServerError",
    "NovitaTimeoutError",
    "NovitaTransportError",
    "NovitaUnexpectedResponseError",
    "error_from_response",
    "error_from_transport",
    "parse_retry_after",
    "redact",
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
_REDACTED = "[REDACTED]"
# Never keep more than this much of the server's own text in one of our messages.
_MAX_API_MESSAGE = 300


def redact(text: str, secrets: Iterable[str]) -> str:
    """Replace every occurrence of each secret in ``text`` with ``[REDACTED]``.

    Args:
        text: Text that may echo a secret (a server message, a metadata value).
        secrets: Secret strings; empty ones and very short ones are ignored (a 1-2 character
            "secret" would shred every message while protecting nothing).

    Returns:
        The text with the secrets blanked out.

    Example:
        >>> redact("bad key sk_live_123", ["sk_live_123"])
        'bad key [REDACTED]'

    """
    for secret in sorted({s for s in secrets if s and len(s) >= 3}, key=len, reverse=True):
        text = text.replace(secret, _REDACTED)
    return text


def _redact_value(value: Any, secrets: tuple[str, ...]) -> Any:
    if isinstance(value, str):
        return redact(value, secrets)
    if isinstance(value, Mapping):
        return {str(k): _redact_value(v, secrets) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_redact_value(v, secrets) for v in value]
    return value


def parse_retry_after(
    headers: Mapping[str, str] | httpx.Headers, now: float | None = None
) -> float | None:
    """Read how long the server asks us to wait, in seconds.

    Understands ``Retry-After`` as delta-seconds or as an HTTP-date, and the non-standard
    ``Retry-After-Ms`` some gateways send.

    Args:
        headers: Response headers (case-insensitive lookup when given ``httpx.Headers``).
        now: Current Unix time, for HTTP-dates (defaults to ``time.time()``).

    Returns:
        Seconds to wait (never negative), or None when the server gave no usable hint.

    Example:
        >>> parse_retry_after({"Retry-After": "3"})
        3.0

    """
    lowered = {k.lower(): v for k, v in headers.items()}
    raw_ms = lowered.get("retry-after-ms")
    if raw_ms:
        try:
            value = float(raw_ms) / 1000.0
        except ValueError:
            value = math.nan
        if math.isfinite(value):
            return max(0.0, value)
    raw = lowered.get("retry-after")
    if not raw:
        return None
    raw = raw.strip()
    try:
        value = float(raw)
    except ValueError:
        pass
    else:
        return max(0.0, value) if math.isfinite(value) else None
    try:
        when = email.utils.parsedate_to_datetime(raw)
    except (TypeError, ValueError, IndexError):
        return None
    if when is None:
        return None
    current = time.time() if now is None else now
    return max(0.0, when.timestamp() - current)


class NovitaError(Exception):
    """Base class of every error the Novita client raises.

    Attributes:
        message: The full human-readable message (also ``str(exc)``).
        operation: What the client was doing, in words ("create instance").
        target: What it was done to, when known ("instance 07ed667185a895bb").
        status_code: HTTP status of the answer, None when there was no answer.
        reason: Novita's UPPER_SNAKE reason (``INSUFFICIENT_RESOURCE``), None if absent.
        api_message: Novita's own ``message`` text, with secrets scrubbed.
        metadata: Novita's ``metadata`` object, with secrets scrubbed.
        request_id: A request/trace id from the response headers or metadata, if any.
        retryable: Whether repeating the call could succeed. False on an error of a
            non-idempotent call (create) that may have taken effect, whatever the class.
        maybe_processed: Whether Novita may have acted on the request despite the failure;
            a non-idempotent call (create) is only retried when this is False.
        attempts: How many tries were made before this error was raised.

    Example:
        try:
            await client.get_instance("07ed667185a895bb")
        except NovitaError as exc:
            logger.error("%s (retryable=%s)", exc, exc.retryable)

    """

    retryable: ClassVar[bool] = False
    maybe_processed_default: ClassVar[bool] = False
    # Short phrase used in the message: "Novita refused to <operation>: <summary>".
    summary: ClassVar[str] = "the request failed"
    verb: ClassVar[str] = "refused to"

    def __init__(
        self,
        message: str | None = None,
        *,
        operation: str = "call the API",
        target: str | None = None,
        status_code: int | None = None,
        reason: str | None = None,
        api_message: str | None = None,
        metadata: Mapping[str, Any] | None = None,
        request_id: str | None = None,
        retryable: bool | None = None,
        maybe_processed: bool | None = None,
        idempotent: bool = True,
    ) -> None:
        self.operation = operation
        self.target = target
        self.status_code = status_code
        self.reason = reason
        self.api_message = api_message
        self.metadata: dict[str, Any] = dict(metadata or {})
        self.request_id = request_id
        if retryable is not None:
            # Instance-level override of the class default (e.g. a transport error type that
            # is known to be permanent). Shadows the ClassVar on purpose.
            self.retryable = retryable  # type: ignore[misc]
        self.maybe_processed = (
            self.maybe_processed_default if maybe_processed is None else maybe_processed
        )
        self.idempotent = idempotent
        if not idempotent and self.maybe_processed:
            # The create may have happened: no retry layer (ours or a Prefect task's generic
            # retry condition) may repeat it blindly. The caller must look it up first.
            self.retryable = False  # type: ignore[misc]
        self.attempts = 1
        self.message = message if message is not None else self._compose()
        super().__init__(self.message)

    def record_attempts(self, attempts: int) -> None:
        """Note that the call was tried ``attempts`` times; the message says so.

        Example:
            >>> error = NovitaServerError(operation="list clusters", status_code=503)
            >>> error.record_attempts(4)
            >>> error.attempts, str(error).endswith("(gave up after 4 attempts)")
            (4, True)

        """
        if attempts <= self.attempts:
            return
        self.attempts = attempts
        base = self.message.split(" (gave up after ")[0]
        self.message = f"{base} (gave up after {attempts} attempts)"
        self.args = (self.message,)

    def _where(self) -> str:
        return f" {self.target}" if self.target else ""

    def _details(self) -> str:
        parts: list[str] = []
        if self.reason:
            parts.append(self.reason)
        if self.status_code is not None:
            parts.append(f"HTTP {self.status_code}")
        text = ", ".join(parts)
        if self.api_message and self.api_message != self.reason:
            text = f"{text}: {self.api_message}" if text else self.api_message
        return f" ({text})" if text else ""

    def _compose(self) -> str:
        text = (
            f"Novita {self.verb} {self.operation}{self._where()}: {self.summary}{self._details()}"
        )
        if self.request_id:
            text += f" [request id {self.request_id}]"
        if not self.idempotent and self.maybe_processed:
            text += (
                ". The request reached Novita, so it MAY have taken effect; look it up"
                " (e.g. list instances by name) before trying again"
            )
        return text

    def __reduce__(self) -> tuple[Any, ...]:
        # Keyword-only __init__ breaks the default exception pickling, and Prefect pickles
        # the exceptions of failed tasks; rebuild from the instance dict instead.
        return (_restore_error, (type(self), self.__dict__.copy()))

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(operation={self.operation!r}, status_code={self.status_code!r},"
            f" reason={self.reason!r}, message={self.message!r})"
        )


def _restore_error(cls: type[NovitaError], state: dict[str, Any]) -> NovitaError:
    error = cls.__new__(cls)
    Exception.__init__(error, state.get("message", ""))
    error.__dict__.update(state)
    return error


class NovitaAuthenticationError(NovitaError):
    """The API key is missing, wrong, or not allowed to do this (401/403).

    Example:
        try:
            await client.list_clusters()
        except NovitaAuthenticationError:
            raise SystemExit("check NOVITA_API_KEY")

    """

    summary = "the API key was rejected or lacks permission"


class NovitaNotFoundError(NovitaError):
    """The instance, template, job... does not exist (404, or 400 with a ``*_NOT_FOUND`` reason).

    A removed instance answers 404; callers deleting or stopping treat this as "already gone".

    Example:
        try:
            instance = await client.get_instance(instance_id)
        except NovitaNotFoundError:
            return None

    """

    verb = "could not"
    summary = "not found"


class NovitaRateLimitError(NovitaError):
    """Too many requests, or Novita's GPU-instance quota was hit (429).

    Attributes:
        retry_after: Seconds the server asked us to wait (``Retry-After``), None if not given.

    Example:
        try:
            products = await client.list_products()
        except NovitaRateLimitError as exc:
            await asyncio.sleep(exc.retry_after or 5)

    """

    retryable = True
    summary = "rate or quota limit exceeded"

    def __init__(
        self, message: str | None = None, *, retry_after: float | None = None, **kwargs: Any
    ):
        self.retry_after = retry_after
        super().__init__(message, **kwargs)

    def _details(self) -> str:
        details = super()._details()
        if self.retry_after is not None:
            details += f"; retry after {self.retry_after:g}s"
        return details


class NovitaCapacityError(NovitaError):
    """Novita has no room for this request where it was asked (``INSUFFICIENT_RESOURCE``...).

    Not retried by the client: repeating the same call at once rarely helps. Whether to try
    another region is a provisioning decision, not the client's.

    Example:
        try:
            await client.create_instance(request)
        except NovitaCapacityError as exc:
            blocked_regions[cluster_id] = exc.reason

    """

    summary = "not enough capacity"


class NovitaQuotaError(NovitaCapacityError):
    """An account-wide limit was reached (``CREATE_INSTANCE_LIMIT``, ``CREATE_GPU_NUM_LIMIT``).

    A :class:`NovitaCapacityError`, so region failover catches it, but another region will
    most likely give the same answer.

    Example:
        try:
            await client.create_instance(request)
        except NovitaQuotaError:
            notify("delete instances or raise the quota")

    """

    summary = "an account limit was reached"


class NovitaBillingError(NovitaError):
    """The account cannot pay for this (``BALANCE_NOT_ENOUGH``...). No region or retry helps.

    Example:
        try:
            await client.create_instance(request)
        except NovitaBillingError:
            notify("top up the Novita balance")

    """

    summary = "the account balance does not allow it"


class NovitaInvalidRequestError(NovitaError):
    """Novita rejected the request as wrong (400 ``VALIDATOR_PARAM`` and other 4xx).

    Example:
        try:
            await client.create_instance(request)
        except NovitaInvalidRequestError as exc:
            raise ValueError(str(exc)) from None

    """

    summary = "the request was invalid"


class NovitaInvalidStateError(NovitaInvalidRequestError):
    """The instance is not in a state that allows the operation ("invalid state change").

    After a retried start/stop, this may mean the first attempt already worked: re-read the
    instance before concluding anything.

    Example:
        try:
            await client.start_instance(instance_id)
        except NovitaInvalidStateError:
            instance = await client.get_instance(instance_id)

    """

    summary = "the instance is not in a state that allows this"


class NovitaRequestTimeoutError(NovitaError):
    """The server gave up waiting for our request (408). Nothing was done; safe to retry.

    Example:
        try:
            await client.list_instances()
        except NovitaRequestTimeoutError:
            pass  # the retry policy already retried it

    """

    retryable = True
    summary = "the server timed out waiting for the request"


class NovitaServerError(NovitaError):
    """Novita or its gateway failed (5xx, including HTML 502/504 pages).

    ``maybe_processed`` is False only for 503 (service unavailable): a 500, 502 or 504 may
    come after the backend acted, so a create is not blindly repeated on those.

    Example:
        try:
            await client.list_instances()
        except NovitaServerError as exc:
            log.warning("Novita trouble: %s", exc)

    """

    retryable = True
    maybe_processed_default = True
    verb = "failed to"
    summary = "server error"


class NovitaUnexpectedResponseError(NovitaError):
    """A successful status with a body the API does not document (not JSON, wrong shape).

    Example:
        try:
            await client.get_instance(instance_id)
        except NovitaUnexpectedResponseError as exc:
            log.error("Novita API changed? %s", exc)

    """

    maybe_processed_default = True
    verb = "gave an unexpected answer to"
    summary = "the response could not be understood"


class NovitaTransportError(NovitaError):
    """No HTTP answer was received (network trouble). Base of timeout and connection errors.

    Example:
        try:
            await client.list_clusters()
        except NovitaTransportError:
            log.warning("Novita unreachable")

    """

    retryable = True
    verb = "could not reach Novita to"
    summary = "network error"

    def _compose(self) -> str:
        # "Novita could not reach Novita" reads badly; transport errors phrase it themselves.
        text = f"Could not reach Novita to {self.operation}{self._where()}: {self.summary}"
        if self.api_message:
            text += f" ({self.api_message})"
        if not self.idempotent and self.maybe_processed:
            text += (
                ". The request was sent, so it MAY have taken effect; look it up"
                " (e.g. list instances by name) before trying again"
            )
        return text


class NovitaTimeoutError(NovitaTransportError):
    """Novita did not answer in time (connect, write, read or pool timeout).

    ``maybe_processed`` is True for write/read timeouts: the request may have been acted on.
    A ``create_instance`` that times out while reading is therefore *not* retried, and its
    message says the instance may exist.

    Example:
        try:
            await client.create_instance(request)
        except NovitaTimeoutError as exc:
            if exc.maybe_processed:
                existing = await client.list_instances(name=name)

    """

    summary = "timed out"


class NovitaConnectionError(NovitaTransportError):
    """The connection failed (refused, reset, DNS, TLS, server hung up).

    Example:
        try:
            await client.list_clusters()
        except NovitaConnectionError:
            log.warning("is NOVITA_API_BASE_URL right?")

    """

    summary = "connection failed"


def _request_id(headers: httpx.Headers, metadata: Mapping[str, Any]) -> str | None:
    for name in _REQUEST_ID_HEADERS:
        value = headers.get(name)
        if value:
            return value
    for key in ("requestId", "request_id", "traceId", "trace_id"):
        value = metadata.get(key)
        if isinstance(value, str) and value:
            return value
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
        body = response.json()
    except (json.JSONDecodeError, UnicodeDecodeError, ValueError):
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
            f"{'.'.join(str(p) for p in item.get('loc', []))}: {item.get('msg')}"
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


def _classify(status: int, reason: str | None, message: str | None) -> type[NovitaError]:
    upper = (reason or "").upper()
    text = message or ""
    if status in (401, 403) or upper in AUTH_REASONS or upper.endswith("API_KEY"):
        return NovitaAuthenticationError
    if status == 429 or upper == "RATE_LIMIT_EXCEEDED":
        return NovitaRateLimitError
    if status < 500:
        if upper in NOT_FOUND_REASONS or upper.endswith("_NOT_FOUND"):
            return NovitaNotFoundError
        if upper in QUOTA_REASONS:
            return NovitaQuotaError
        if upper in CAPACITY_REASONS:
            return NovitaCapacityError
        if upper in BILLING_REASONS:
            return NovitaBillingError
        if upper in INVALID_STATE_REASONS:
            return NovitaInvalidStateError
    if status == 404:
        return NovitaNotFoundError
    if status == 408:
        return NovitaRequestTimeoutError
    if status >= 500:
        return NovitaServerError
    if 400 <= status < 500:
        # Reasons are sometimes missing or generic (REQUEST): fall back on the words.
        if _INVALID_STATE_TEXT.search(text):
            return NovitaInvalidStateError
        if _CAPACITY_TEXT.search(text):
            return NovitaCapacityError
        if upper in _GENERIC_REASONS and _NOT_FOUND_TEXT.search(text):
            return NovitaNotFoundError
        return NovitaInvalidRequestError
    return NovitaUnexpectedResponseError


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
        reason = redact(reason, secret_list)
    metadata = _redact_value(metadata, secret_list)
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
        "request_id": _request_id(response.headers, metadata),
        "idempotent": idempotent,
    }
    if cls is NovitaServerError:
        # A 503 is the server declining up front; 500/502/504 may follow a backend action.
        kwargs["maybe_processed"] = status not in (503,)
    if issubclass(cls, NovitaRateLimitError):
        return cls(retry_after=parse_retry_after(response.headers), **kwargs)
    return cls(**kwargs)


def error_from_transport(
    exc: httpx.RequestError,
    operation: str,
    *,
    target: str | None = None,
    idempotent: bool = True,
    secrets: Iterable[str] = (),
) -> NovitaTransportError:
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
    cls: type[NovitaTransportError]
    if isinstance(exc, httpx.TimeoutException):
        cls = NovitaTimeoutError
    else:
        cls = NovitaConnectionError
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
