"""Deliver one signed webhook body to one URL, retrying by the event's policy, never raising.

A delivery is: POST the exact body bytes with the event, delivery id, timestamp and (with a
secret) signature headers; 2xx means delivered. Failures the receiver may recover from
(network errors, timeouts, 408, 429, 5xx) are retried on the schedule of ``policy_for(event)``;
any other answer is final at once. The outcome always comes back as a ``DeliveryResult``: a
webhook failure must never fail the business operation, and the caller keeps failed
deliveries to send again later (with the same delivery id, so receivers can de-duplicate).

Redirects are not followed: re-POSTing a signed body to wherever a 3xx points would hand it to
a host the user never configured, so a 3xx is a final, undelivered answer. Receivers pass the
outbound guard (:mod:`clients.outbound_guard`) at connect time: a link-local or cloud-metadata
receiver, or in strict mode a private one, is a failed delivery that says which rule refused it.

The secret never leaves this module in clear: it is held as ``SecretStr``, unwrapped only to
compute the HMAC, and scrubbed from every error string; logged URLs lose their query string
and credentials, since users sometimes put tokens there.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from urllib.parse import urlsplit, urlunsplit

import httpx
from pydantic import BaseModel, SecretStr
from tenacity import AsyncRetrying, RetryCallState, retry_if_result, stop_after_attempt

from clients.http_session import HttpSession
from clients.outbound_guard import OutboundRefusedError, Resolver
from clients.url_redaction import scrub
from clients.webhook_payload import WebhookEvent
from clients.webhook_retry_policy import WebhookRetryPolicy, is_retryable_status, policy_for
from clients.webhook_signature import sign_webhook_body

__all__ = [
    "DELIVERY_HEADER",
    "EVENT_HEADER",
    "MIN_SECRET_LENGTH",
    "SIGNATURE_HEADER",
    "SIGNATURE_SHA256_HEADER",
    "TIMESTAMP_HEADER",
    "DeliveryResult",
    "WebhookSender",
    "new_delivery_id",
]

logger = logging.getLogger(__name__)

EVENT_HEADER = "X-Webhook-Event"
DELIVERY_HEADER = "X-Webhook-Delivery"
TIMESTAMP_HEADER = "X-Webhook-Timestamp"
SIGNATURE_HEADER = "X-Webhook-Signature"
SIGNATURE_SHA256_HEADER = "X-Signature-SHA256"
MIN_SECRET_LENGTH = 8
USER_AGENT = "novita-prefect-webhooks/0.1"
_MAX_ERROR_CHARS = 200

SleepFn = Callable[[float], Awaitable[None]]


class DeliveryResult(BaseModel):
    """What became of one delivery (all its attempts).

    Attributes:
        delivery_id: The ``X-Webhook-Delivery`` value sent on every attempt.
        delivered: True when the receiver answered 2xx.
        attempts: How many POSTs were made (1 to the policy's ``max_attempts``).
        status_code: The last HTTP status received, None when no answer came back.
        error: A short, secret-free reason when not delivered, else None.

    Example:
        >>> DeliveryResult(delivery_id="d-1", delivered=True, attempts=1, status_code=204)
        DeliveryResult(delivery_id='d-1', delivered=True, attempts=1, status_code=204, error=None)

    """

    delivery_id: str
    delivered: bool
    attempts: int
    status_code: int | None = None
    error: str | None = None


@dataclass(frozen=True)
class _AttemptOutcome:
    """The result of one POST, already classified (so tenacity only looks at ``retryable``)."""

    delivered: bool
    retryable: bool
    status_code: int | None = None
    error: str | None = None


def new_delivery_id() -> str:
    """Return a fresh, unique delivery id (a UUID4 string).

    Create it once per webhook and keep it with the delivery: retries and later redeliveries
    reuse it so receivers can drop duplicates.

    Example:
        >>> len(new_delivery_id())
        36

    """
    return str(uuid.uuid4())


def _redact_url(url: str) -> str:
    """Return ``url`` without credentials, query or fragment, fit for a log line."""
    try:
        parts = urlsplit(url)
        host = parts.hostname or ""
        if ":" in host:  # IPv6 literals keep their brackets
            host = f"[{host}]"
        if parts.port is not None:
            host = f"{host}:{parts.port}"
    except ValueError:
        return "<invalid url>"
    return urlunsplit((parts.scheme, host, parts.path, "", ""))


def _coerce_secret(secret: SecretStr | str | None) -> SecretStr | None:
    """Normalise the secret argument; an empty one means "do not sign" (an unset env var)."""
    if secret is None:
        return None
    value = secret.get_secret_value() if isinstance(secret, SecretStr) else secret
    if not value:
        return None
    if len(value) < MIN_SECRET_LENGTH:
        # The message states the rule only: echoing the value would leak it.
        raise ValueError(f"webhook secret must be at least {MIN_SECRET_LENGTH} characters")
    return SecretStr(value)


class WebhookSender(HttpSession):
    """Signed webhook delivery over one shared ``httpx.AsyncClient``.

    Args:
        secret: Signing secret (at least 8 characters). None or "" sends unsigned webhooks.
        timeout: Seconds allowed per attempt (connect, write, read).
        transport: An httpx transport to use instead of the network (proxies, custom TLS).
        sleep: Awaitable sleep used between attempts; tests pass a recorder so nothing waits.
        rng: Randomness for jitter; tests may pass a seeded ``random.Random``.
        strict_outbound: Also refuse receivers on loopback, private and other non-public
            addresses (the ``WebhookSettings`` block's ``strict_outbound``). Link-local and
            cloud-metadata receivers are refused in any case.
        outbound_allow_list: Host names, addresses or CIDRs strict mode lets through
            (the block's ``outbound_allow_list``).
        resolver: Name resolution for the outbound guard; the system's by default.

    A refused receiver is a failed delivery (one attempt, not retried, ``error`` naming the
    rule), never an exception.

    Every attempt carries the same body, signature and ``X-Webhook-Delivery``; only
    ``X-Webhook-Timestamp`` changes, as it says when that attempt was sent.

    Example:
        >>> async def notify(url: str) -> DeliveryResult:  # doctest: +SKIP
        ...     body = build_webhook_body(WebhookEvent.READY, "ready", "a1b2c3d4e5f60718", {})
        ...     async with WebhookSender("test-secret-not-real") as sender:
        ...         return await sender.deliver(url, body, WebhookEvent.READY, new_delivery_id())

    """

    def __init__(
        self,
        secret: SecretStr | str | None = None,
        *,
        timeout: float = 10.0,
        transport: httpx.AsyncBaseTransport | None = None,
        sleep: SleepFn | None = None,
        rng: random.Random | None = None,
        strict_outbound: bool = False,
        outbound_allow_list: Sequence[str] = (),
        resolver: Resolver | None = None,
    ) -> None:
        super().__init__(
            user_agent=USER_AGENT,
            timeout=timeout,
            transport=transport,
            strict_outbound=strict_outbound,
            outbound_allow_list=outbound_allow_list,
            resolver=resolver,
        )
        self._secret = _coerce_secret(secret)
        self._sleep: SleepFn = sleep or asyncio.sleep
        self._rng = rng

    @property
    def signs(self) -> bool:
        """Whether deliveries carry signature headers (a secret is set)."""
        return self._secret is not None

    async def deliver(
        self,
        url: str,
        body: bytes,
        event: WebhookEvent | str,
        delivery_id: str | None = None,
    ) -> DeliveryResult:
        """POST ``body`` to ``url``, retrying by ``policy_for(event)``; never raises for failures.

        Args:
            url: The receiver URL (the instance's ``webhook_url``).
            body: The exact bytes to send, from ``build_webhook_body``; signed and sent as is.
            event: The event the body carries (sets ``X-Webhook-Event`` and the policy).
            delivery_id: The ``X-Webhook-Delivery`` id; pass the stored one when redelivering.
                A new one is made when omitted (read it back from the result).

        Returns:
            The ``DeliveryResult``; ``delivered`` is False with a short ``error`` on failure.

        Raises:
            RuntimeError: The sender is used outside ``async with``.
            ValueError: ``event`` is not a known ``WebhookEvent`` (a bug, not a delivery failure).

        Example:
            >>> async with WebhookSender("test-secret-not-real") as sender:  # doctest: +SKIP
            ...     result = await sender.deliver(url, body, "instance.ready", "d-1")

        """
        http = self.http  # fails fast outside ``async with``
        event_value = WebhookEvent(event).value
        delivery_id = delivery_id or new_delivery_id()
        policy = policy_for(event_value)
        headers = self._static_headers(body, event_value, delivery_id)
        target = _redact_url(url)
        attempts = 0

        async def attempt() -> _AttemptOutcome:
            nonlocal attempts
            attempts += 1
            outcome = await self._post_once(http, url, body, headers)
            logger.debug(
                "webhook %s delivery %s attempt %d to %s: %s",
                event_value,
                delivery_id,
                attempts,
                target,
                outcome.status_code or outcome.error,
            )
            return outcome

        retrying = self._retrying(policy, event_value, delivery_id)
        outcome: _AttemptOutcome = await retrying(attempt)
        result = DeliveryResult(
            delivery_id=delivery_id,
            delivered=outcome.delivered,
            attempts=attempts,
            status_code=outcome.status_code,
            error=outcome.error,
        )
        if result.delivered:
            logger.info(
                "webhook %s delivered to %s (delivery %s, %d attempt(s), HTTP %s)",
                event_value,
                target,
                delivery_id,
                attempts,
                result.status_code,
            )
        else:
            logger.warning(
                "webhook %s NOT delivered to %s (delivery %s, %d attempt(s)): %s",
                event_value,
                target,
                delivery_id,
                attempts,
                result.error,
            )
        return result

    def _static_headers(self, body: bytes, event: str, delivery_id: str) -> dict[str, str]:
        """Build the headers that stay the same on every attempt (signature included)."""
        headers = {
            "Content-Type": "application/json",
            EVENT_HEADER: event,
            DELIVERY_HEADER: delivery_id,
        }
        if self._secret is not None:
            signature = sign_webhook_body(self._secret, body)
            headers[SIGNATURE_HEADER] = signature
            headers[SIGNATURE_SHA256_HEADER] = signature
        return headers

    def _retrying(self, policy: WebhookRetryPolicy, event: str, delivery_id: str) -> AsyncRetrying:
        """Build the tenacity controller for one delivery under ``policy``."""

        def wait(state: RetryCallState) -> float:
            return policy.wait_before_retry(state.attempt_number, self._rng)

        def before_sleep(state: RetryCallState) -> None:
            logger.info(
                "webhook %s delivery %s: attempt %d failed, retrying in %.1f s",
                event,
                delivery_id,
                state.attempt_number,
                state.upcoming_sleep,
            )

        def give_up(state: RetryCallState) -> _AttemptOutcome:
            # Attempts never raise (they return outcomes), so the last outcome is a result.
            assert state.outcome is not None
            return state.outcome.result()

        return AsyncRetrying(
            stop=stop_after_attempt(policy.max_attempts),
            wait=wait,
            retry=retry_if_result(lambda outcome: outcome.retryable),
            sleep=self._sleep,
            before_sleep=before_sleep,
            retry_error_callback=give_up,
        )

    async def _post_once(
        self, http: httpx.AsyncClient, url: str, body: bytes, static_headers: dict[str, str]
    ) -> _AttemptOutcome:
        """Make one POST and classify what happened; transport errors become outcomes."""
        # The timestamp says when this attempt was sent, so receivers can judge staleness.
        headers = {**static_headers, TIMESTAMP_HEADER: str(int(time.time()))}
        try:
            # Streaming without reading the body: only the status matters, and a receiver's
            # large or badly encoded answer must not turn a delivered webhook into an error.
            async with http.stream("POST", url, content=body, headers=headers) as resp:
                status = resp.status_code
        except OutboundRefusedError as exc:
            # A policy answer, not a network blip: another try would be refused the same way.
            return _AttemptOutcome(False, False, error=scrub(str(exc), [url])[:_MAX_ERROR_CHARS])
        except httpx.TimeoutException as exc:
            return _AttemptOutcome(False, True, error=self._describe("timed out", exc, url))
        except httpx.ConnectError as exc:
            return _AttemptOutcome(False, True, error=self._describe("connection failed", exc, url))
        except (httpx.UnsupportedProtocol, httpx.InvalidURL) as exc:
            return _AttemptOutcome(
                False, False, error=self._describe("invalid webhook URL", exc, url)
            )
        except httpx.HTTPError as exc:
            # Dropped connections, protocol errors: the receiver may do better next time.
            return _AttemptOutcome(False, True, error=self._describe("connection error", exc, url))
        if 200 <= status <= 299:
            return _AttemptOutcome(True, False, status_code=status)
        error = f"HTTP {status}"
        if 300 <= status <= 399:
            error += " (redirects are not followed)"
        return _AttemptOutcome(False, is_retryable_status(status), status_code=status, error=error)

    def _describe(self, what: str, exc: Exception, url: str) -> str:
        """Make a short error string from an exception, with the secrets scrubbed out.

        Both the signing secret and whatever the URL carries (a `?token=`) are removed.
        """
        detail = str(exc).strip()
        text = f"{what} ({type(exc).__name__}{': ' + detail if detail else ''})"
        if self._secret is not None:
            text = text.replace(self._secret.get_secret_value(), "***")
        return scrub(text, [url])[:_MAX_ERROR_CHARS]
