"""Tell an instance's owner what happened: keep the delivery in the store, then send it signed."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

from clients.webhook_payload import WebhookEvent, build_webhook_body
from clients.webhook_sender import DeliveryResult, WebhookSender, new_delivery_id
from flows.common.run_logger import run_logger
from flows.common.webhook_targets import webhook_address
from store import StateStore, WebhookDelivery, utc_now
from tasks.send_webhook import send_webhook

REDELIVERY_DELAY = timedelta(minutes=5)
"""A failed delivery becomes due for redelivery (by fleet-sync) this long after failing."""

SENDING_LEASE = timedelta(minutes=2)
"""While a delivery is being sent, a concurrent redelivery sweep leaves it alone."""

MAX_DELIVERY_ATTEMPTS = 20
"""HTTP attempts (first send and redeliveries together) after which a delivery is given up.

A round is 3 attempts for ordinary events and 5 for startup events, so this allows the first
send and about five redeliveries, spread over a couple of hours (see `next_redelivery_at`).
"""

REDELIVERY_MAX_DELAY = timedelta(hours=6)


def next_redelivery_at(created_at: datetime, now: datetime) -> datetime:
    """When a delivery that failed again should be tried next: half its age from now.

    The wait grows with the time the receiver has been failing (at least `REDELIVERY_DELAY`,
    at most `REDELIVERY_MAX_DELAY`), without keeping a round counter.

    Example:
        >>> from datetime import UTC
        >>> t0 = datetime(2026, 1, 1, tzinfo=UTC)
        >>> next_redelivery_at(t0, t0 + timedelta(hours=1)) - t0
        datetime.timedelta(seconds=5400)

    """
    wait = min(max((now - created_at) / 2, REDELIVERY_DELAY), REDELIVERY_MAX_DELAY)
    return now + wait


class OwnerWebhooks:
    """Sends the lifecycle webhooks of one flow run; a failure never fails the flow.

    Every delivery is written to the store (pending) before the first attempt and marked
    delivered or failed afterwards, so a delivery that never got through is not lost. URLs
    are given and kept in their stored form (`flows.common.webhook_targets`): the real URL,
    which may carry a token, is read from its Secret block only to send.

    Example:
        ```python
        webhooks = OwnerWebhooks(store, sender)
        await webhooks.notify(url, WebhookEvent.READY, "ready", instance_id, {"region": "US-CA-06"})
        ```

    """

    def __init__(self, store: StateStore, sender: WebhookSender) -> None:
        self._store = store
        self._sender = sender

    async def notify(
        self,
        url: str | None,
        event: WebhookEvent,
        status: str,
        instance_id: str | None,
        data: Mapping[str, Any] | None = None,
        *,
        top_level: Mapping[str, Any] | None = None,
    ) -> DeliveryResult | None:
        """Send one event to `url` (nothing when the instance has no webhook URL).

        `top_level`: fields beside `data` (the seed system's `originalInstanceId`...); the
        seed's `instance` and `error` blocks are derived from `data` by the body builder.

        Example:
            ```python
            await webhooks.notify(record.webhook_url, WebhookEvent.STOPPED, "stopped", iid)
            ```

        """
        if not url:
            return None
        try:
            return await self._deliver(url, event, status, instance_id, data, top_level)
        except Exception as exc:  # a webhook failure never fails the business operation
            run_logger(__name__).warning(
                "Webhook %s could not be sent: %s", event, type(exc).__name__
            )
            return None

    async def _deliver(
        self,
        url: str,
        event: WebhookEvent,
        status: str,
        instance_id: str | None,
        data: Mapping[str, Any] | None,
        top_level: Mapping[str, Any] | None,
    ) -> DeliveryResult:
        body = build_webhook_body(event, status, instance_id, data, top_level=top_level)
        delivery_id = new_delivery_id()
        await self._store.add_delivery(
            delivery_id,
            instance_id or "",
            str(event),
            url,
            body,
            next_attempt_at=utc_now() + SENDING_LEASE,
        )
        address = await webhook_address(url)  # the real URL only for the POST itself
        result = await send_webhook(self._sender, address or url, body, event, delivery_id)
        if result.delivered:
            await self._store.mark_delivery_delivered(
                delivery_id, result.attempts, result.status_code
            )
        else:
            await self._store.mark_delivery_failed(
                delivery_id,
                result.attempts,
                result.error or "not delivered",
                status_code=result.status_code,
                next_attempt_at=utc_now() + REDELIVERY_DELAY,
            )
        return result

    async def redeliver(self, delivery: WebhookDelivery) -> WebhookDelivery:
        """Send a kept delivery again: the stored exact body, the same delivery id.

        Marked delivered, or failed and due again at `next_redelivery_at`, or given up
        (failed, no next attempt) once `MAX_DELIVERY_ATTEMPTS` HTTP attempts were made.
        A failed POST is recorded, never raised (`send_webhook` returns it as a result).

        Returns:
            The delivery as the store now keeps it.

        Example:
            ```python
            for delivery in await store.list_due_deliveries(limit=100):
                kept = await webhooks.redeliver(delivery)
                print(kept.status, kept.next_attempt_at)
            ```

        """
        try:
            event = WebhookEvent(delivery.event)
        except ValueError:  # a stored event this version does not know: never sendable
            return await self._store.mark_delivery_failed(
                delivery.delivery_id, 0, f"unknown event {delivery.event!r}: given up"
            )
        result = await send_webhook(
            self._sender,
            await webhook_address(delivery.url) or delivery.url,
            delivery.payload.encode("utf-8"),
            event,
            delivery.delivery_id,
        )
        if result.delivered:
            return await self._store.mark_delivery_delivered(
                delivery.delivery_id, result.attempts, result.status_code
            )
        give_up = delivery.attempts + result.attempts >= MAX_DELIVERY_ATTEMPTS
        return await self._store.mark_delivery_failed(
            delivery.delivery_id,
            result.attempts,
            result.error or "not delivered",
            status_code=result.status_code,
            next_attempt_at=None if give_up else next_redelivery_at(delivery.created_at, utc_now()),
        )
