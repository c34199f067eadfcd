"""Send again the owner webhooks that never got through, now that they are due.

Every webhook is kept in the store before it is sent (`flows/common/owner_webhooks.py`); one that
failed is due again later. This step takes the due ones (failed, or pending whose sender
never finished), oldest first, and hands each to `OwnerWebhooks.redeliver`: the exact stored
body, the same `X-Webhook-Delivery` id, marked delivered, failed (due later) or given up.
Each delivery is leased first (`StateStore.lease_delivery`: compare-and-set on the due time
that was read), so two fleet-sync runs at once (a manual one beside the scheduled one, two
workers) never send the same delivery twice.
"""

from __future__ import annotations

import asyncio

from prefect import get_run_logger
from pydantic import BaseModel, Field

from flows.common.notifications import notify_humans
from flows.common.owner_webhooks import SENDING_LEASE
from flows.common.resources import FlowResources
from store import DeliveryStatus, WebhookDelivery

REDELIVERY_CONCURRENCY = 10
"""Deliveries sent at once: receivers that are down cost their retry waits in parallel."""


class RedeliveryOutcome(BaseModel):
    """What became of the due deliveries (delivery ids).

    Example:
        >>> RedeliveryOutcome(redelivered=["d-1"]).still_failing
        []

    """

    redelivered: list[str] = Field(default_factory=list)
    still_failing: list[str] = Field(
        default_factory=list, description="Failed again; due again later"
    )
    given_up: list[str] = Field(
        default_factory=list, description="Failed again and out of attempts: no more retries"
    )
    sent_elsewhere: list[str] = Field(
        default_factory=list, description="Leased by another run at the same time: left alone"
    )


async def redeliver_due_webhooks(res: FlowResources, limit: int) -> RedeliveryOutcome:
    """Redeliver up to `limit` due deliveries, a few at a time; never raises for one of them.

    A delivery whose redelivery errs (not a failed POST: that is recorded) is left as it was,
    due again at the next sync, and reported as still failing.

    Example:
        ```python
        outcome = await redeliver_due_webhooks(res, limit=100)
        print(len(outcome.redelivered), "delivered late")
        ```

    """
    logger = get_run_logger()
    due = await res.store.list_due_deliveries(limit=limit) if limit > 0 else []
    if not due:
        return RedeliveryOutcome()
    logger.info("Redelivering %d due webhook(s)", len(due))
    gate = asyncio.Semaphore(REDELIVERY_CONCURRENCY)

    async def one(delivery: WebhookDelivery) -> WebhookDelivery | bool | None:
        """The delivery as kept after sending; False: another run leased it; None: error."""
        async with gate:
            leased = await res.store.lease_delivery(delivery, SENDING_LEASE)
            if leased is None:
                logger.info("Delivery %s is being sent by another run", delivery.delivery_id)
                return False
            try:
                return await res.webhooks.redeliver(leased)
            except Exception as exc:
                logger.warning(
                    "Redelivery of %s (%s) failed: %s",
                    delivery.delivery_id,
                    delivery.event,
                    type(exc).__name__,
                )
                return None

    outcome = RedeliveryOutcome()
    for delivery, kept in zip(due, await asyncio.gather(*(one(d) for d in due)), strict=True):
        if kept is False:
            outcome.sent_elsewhere.append(delivery.delivery_id)
        elif isinstance(kept, WebhookDelivery) and kept.status == DeliveryStatus.DELIVERED:
            outcome.redelivered.append(delivery.delivery_id)
        elif isinstance(kept, WebhookDelivery) and kept.next_attempt_at is None:
            outcome.given_up.append(delivery.delivery_id)
        else:
            outcome.still_failing.append(delivery.delivery_id)
    if outcome.given_up:
        logger.warning("Gave up on %d webhook deliveries", len(outcome.given_up))
        lost = [d for d in due if d.delivery_id in set(outcome.given_up)]
        await notify_humans(
            res.policies,
            f"Novita: {len(lost)} webhook deliveries given up",
            "Owners were not told: "
            + "; ".join(f"{d.event} for {d.instance_id} ({d.delivery_id})" for d in lost[:20]),
        )
    return outcome
