"""Deliver one signed webhook to an instance owner; never raises for a failed delivery."""

from __future__ import annotations

from prefect import get_run_logger, task
from prefect.cache_policies import NO_CACHE

from clients.webhook_payload import WebhookEvent
from clients.webhook_sender import DeliveryResult, WebhookSender


@task(name="send-webhook", cache_policy=NO_CACHE, persist_result=False)
async def send_webhook(
    sender: WebhookSender, url: str, body: bytes, event: WebhookEvent, delivery_id: str
) -> DeliveryResult:
    """POST the exact body bytes with signature headers; retry per the event's policy.

    A failure is returned (delivered=False), never raised: a webhook never fails the
    business operation. The task itself has no Prefect retries; the sender owns them.

    Example:
        ```python
        result = await send_webhook(sender, url, body, WebhookEvent.READY, delivery_id)
        ```

    """
    result = await sender.deliver(url, body, event, delivery_id)
    logger = get_run_logger()
    if result.delivered:
        logger.info("Webhook %s delivered (attempt %d)", event, result.attempts)
    else:
        logger.warning(
            "Webhook %s not delivered after %d attempt(s): %s", event, result.attempts, result.error
        )
    return result
