"""Errors raised by the Novita client: one class per failure kind.

Every failure of a Novita call surfaces as a :class:`NovitaError` subclass, whether the API
answered with its ``{"code", "reason", "message", "metadata"}`` envelope, with an HTML gateway
page, with an empty body, or never answered at all. Callers branch on the class (or on
``reason``), retry code reads ``retryable`` and ``maybe_processed``, and users read ``str(exc)``,
a sentence that says what failed and why. Which class an answer becomes is decided in
:mod:`clients.novita.error_classification`.

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
    │   └── NovitaResponseTooLargeError  [False]  a body past the client's size limit
    └── NovitaTransportError             [True]   no (complete) HTTP answer
        ├── NovitaTimeoutError           [True]
        │   └── NovitaDeadlineExceededError [True] the attempt's overall deadline passed
        └── NovitaConnectionError        [True]

Example:
    >>> error = NovitaQuotaError(operation="create instance", status_code=400,
    ...                          reason="CREATE_INSTANCE_LIMIT")
    >>> isinstance(error, NovitaCapacityError), error.retryable
    (True, False)
    >>> print(error)  # doctest: +NORMALIZE_WHITESPACE
    Novita refused to create instance: an account limit was reached
    (CREATE_INSTANCE_LIMIT, HTTP 400)

"""

from __future__ import annotations

from typing import Any

from clients.novita.error_base import NovitaError

# Re-exported: they lived here before the classification moved out, and callers import them.
from clients.novita.redaction import redact
from clients.novita.retry_after import parse_retry_after

__all__ = [
    "NovitaAuthenticationError",
    "NovitaBillingError",
    "NovitaCapacityError",
    "NovitaConnectionError",
    "NovitaDeadlineExceededError",
    "NovitaError",
    "NovitaInvalidRequestError",
    "NovitaInvalidStateError",
    "NovitaNotFoundError",
    "NovitaQuotaError",
    "NovitaRateLimitError",
    "NovitaRequestTimeoutError",
    "NovitaResponseTooLargeError",
    "NovitaServerError",
    "NovitaTimeoutError",
    "NovitaTransportError",
    "NovitaUnexpectedResponseError",
    "parse_retry_after",
    "redact",
]


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


class NovitaResponseTooLargeError(NovitaUnexpectedResponseError):
    """The answer was larger than the client accepts; reading stopped at the limit.

    Not retried: the same call would most likely bring the same flood. Raise the client's
    ``max_response_bytes`` if such answers are expected (a very large account listed with a
    large page size).

    Attributes:
        limit_bytes: The limit that was passed.

    Example:
        >>> error = NovitaResponseTooLargeError(operation="list products", limit_bytes=8 << 20)
        >>> error.retryable, "limit of 8388608 bytes" in str(error)
        (False, True)

    """

    def __init__(self, message: str | None = None, *, limit_bytes: int, **kwargs: Any) -> None:
        self.limit_bytes = limit_bytes
        super().__init__(message, **kwargs)

    summary = "the response is too large"

    def _details(self) -> str:
        return f" (over the limit of {self.limit_bytes} bytes; reading stopped there)"


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

    def _lead(self) -> str:
        # "Novita could not reach Novita" reads badly; transport errors phrase it themselves.
        return f"Could not reach Novita to {self.operation}{self._where()}: {self.summary}"

    def _compose(self) -> str:
        text = self._lead()
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


class NovitaDeadlineExceededError(NovitaTimeoutError):
    """No complete answer within the overall deadline of one attempt (connect + whole body).

    httpx's own timeouts apply to each network read, so a server trickling a byte a second
    never trips them; this deadline bounds the attempt as a whole. Retryable like any
    timeout, within the retry policy's budget; ``maybe_processed`` is True (the request may
    have been read and acted on), so a create is not repeated blindly.

    Attributes:
        deadline_seconds: The deadline that was exceeded.

    Example:
        >>> error = NovitaDeadlineExceededError(operation="list products", deadline_seconds=30)
        >>> print(error)  # doctest: +NORMALIZE_WHITESPACE
        Novita did not answer list products in time: the overall deadline of 30 s
        (connect + whole response) was exceeded

    """

    maybe_processed_default = True

    def __init__(
        self, message: str | None = None, *, deadline_seconds: float, **kwargs: Any
    ) -> None:
        self.deadline_seconds = deadline_seconds
        super().__init__(message, **kwargs)

    def _lead(self) -> str:
        return (
            f"Novita did not answer {self.operation}{self._where()} in time: the overall"
            f" deadline of {self.deadline_seconds:g} s (connect + whole response) was exceeded"
        )


class NovitaConnectionError(NovitaTransportError):
    """The connection failed (refused, reset, DNS, TLS, server hung up).

    Example:
        try:
            await client.list_clusters()
        except NovitaConnectionError:
            log.warning("is NOVITA_API_BASE_URL right?")

    """

    summary = "connection failed"
