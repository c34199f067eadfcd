"""Repository of webhook deliveries: kept until delivered, so none is ever lost.

A delivery is added before it is sent (status ``pending``), then marked ``delivered`` or
``failed``. ``list_due`` returns what a redelivery sweep should send again: pending or
failed deliveries whose ``next_attempt_at`` has come. A delivery with no
``next_attempt_at`` is never due (a failed one with none has been given up on).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from store.clock import ensure_utc, utc_now
from store.errors import DeliveryNotFoundError
from store.models import DeliveryStatus, WebhookDelivery
from store.tables import DeliveryRow

logger = logging.getLogger(__name__)

# Errors are for people reading the history; a bounded length keeps rows small.
MAX_ERROR_LENGTH = 2000
_DUE_STATUSES = (DeliveryStatus.PENDING.value, DeliveryStatus.FAILED.value)


def _to_model(row: DeliveryRow) -> WebhookDelivery:
    return WebhookDelivery.model_validate(row)


class DeliveryRepository:
    """Reads and writes webhook deliveries within ``session``'s transaction.

    Example:
        >>> async def example(session: AsyncSession) -> None:
        ...     deliveries = DeliveryRepository(session)
        ...     await deliveries.add("d-1", "0123456789abcdef", "instance.ready",
        ...                          "https://hooks.example/x", '{"event":"instance.ready"}')
        ...     await deliveries.mark_delivered("d-1", attempts=1, status_code=200)

    """

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def _row(self, delivery_id: str) -> DeliveryRow | None:
        query = select(DeliveryRow).where(DeliveryRow.delivery_id == delivery_id)
        result = await self.session.execute(query.execution_options(populate_existing=True))
        return result.scalar_one_or_none()

    async def add(
        self,
        delivery_id: str,
        instance_id: str,
        event: str,
        url: str,
        payload: str | bytes,
        *,
        next_attempt_at: datetime | None = None,
        at: datetime | None = None,
    ) -> WebhookDelivery:
        """Add a pending delivery; adding an existing ``delivery_id`` returns it unchanged.

        Args:
            delivery_id: The stable ``X-Webhook-Delivery`` id (same on every retry).
            instance_id: The Novita id the event is about.
            event: The event name, e.g. ``instance.ready``.
            url: Where it is posted.
            payload: The exact body (JSON, UTF-8) that is signed and sent.
            next_attempt_at: When a redelivery sweep may send it; default: at once
                (``at``). A sender about to post it itself can pass a short lease
                (now + 1 min) so a concurrent sweep does not send it at the same moment.
            at: Creation time (default now).

        """
        created = utc_now() if at is None else ensure_utc(at)
        body = payload.decode("utf-8") if isinstance(payload, bytes) else payload
        row = DeliveryRow(
            delivery_id=delivery_id,
            instance_id=instance_id,
            event=event,
            url=url,
            payload=body,
            status=DeliveryStatus.PENDING.value,
            attempts=0,
            created_at=created,
            updated_at=created,
            next_attempt_at=created if next_attempt_at is None else ensure_utc(next_attempt_at),
        )
        try:
            # A savepoint: a retried task that adds the same delivery again is not an error.
            async with self.session.begin_nested():
                self.session.add(row)
                await self.session.flush()
        except IntegrityError:
            existing = await self._row(delivery_id)
            if existing is None:
                raise
            return _to_model(existing)
        return _to_model(row)

    async def _mark(self, delivery_id: str, values: dict[str, Any]) -> WebhookDelivery:
        statement = (
            update(DeliveryRow)
            .where(DeliveryRow.delivery_id == delivery_id)
            .values(**values, updated_at=utc_now())
            .execution_options(synchronize_session=False)
        )
        if (await self.session.execute(statement)).rowcount == 0:
            raise DeliveryNotFoundError(delivery_id)
        row = await self._row(delivery_id)
        if row is None:  # cannot happen inside the same transaction; keeps types honest
            raise DeliveryNotFoundError(delivery_id)
        return _to_model(row)

    async def mark_delivered(
        self, delivery_id: str, attempts: int, status_code: int | None
    ) -> WebhookDelivery:
        """Mark delivered; ``attempts`` (HTTP attempts of this round) adds to the total."""
        return await self._mark(
            delivery_id,
            {
                "status": DeliveryStatus.DELIVERED.value,
                "attempts": DeliveryRow.attempts + max(attempts, 0),
                "last_status_code": status_code,
                "last_error": None,
                "next_attempt_at": None,
            },
        )

    async def mark_failed(
        self,
        delivery_id: str,
        attempts: int,
        error: str,
        status_code: int | None = None,
        next_attempt_at: datetime | None = None,
    ) -> WebhookDelivery:
        """Mark failed; it is due again at ``next_attempt_at`` (None: no automatic retry).

        Args:
            delivery_id: The delivery.
            attempts: HTTP attempts of this round; added to the stored total.
            error: What went wrong (no secrets; truncated to 2000 characters).
            status_code: The last HTTP status, when a response came back.
            next_attempt_at: When a redelivery sweep should try again.

        """
        return await self._mark(
            delivery_id,
            {
                "status": DeliveryStatus.FAILED.value,
                "attempts": DeliveryRow.attempts + max(attempts, 0),
                "last_status_code": status_code,
                "last_error": error[:MAX_ERROR_LENGTH],
                "next_attempt_at": None if next_attempt_at is None else ensure_utc(next_attempt_at),
            },
        )

    async def get(self, delivery_id: str) -> WebhookDelivery | None:
        """Return the delivery, or None."""
        row = await self._row(delivery_id)
        return None if row is None else _to_model(row)

    async def list_due(
        self, now: datetime | None = None, limit: int = 100
    ) -> list[WebhookDelivery]:
        """Return pending or failed deliveries due at ``now``, the longest-waiting first."""
        now = utc_now() if now is None else ensure_utc(now)
        query = (
            select(DeliveryRow)
            .where(DeliveryRow.status.in_(_DUE_STATUSES), DeliveryRow.next_attempt_at <= now)
            .order_by(DeliveryRow.next_attempt_at, DeliveryRow.created_at)
            .limit(limit)
        )
        return [_to_model(row) for row in (await self.session.execute(query)).scalars()]

    async def lease(
        self, delivery_id: str, seen_next_attempt_at: datetime, until: datetime
    ) -> bool:
        """Take a due delivery for one redelivery: move ``next_attempt_at`` to ``until``.

        A compare-and-set on the ``next_attempt_at`` the caller read: of two sweeps that read
        the same due delivery, one gets it, the other leaves it alone.
        """
        statement = (
            update(DeliveryRow)
            .where(
                DeliveryRow.delivery_id == delivery_id,
                DeliveryRow.status.in_(_DUE_STATUSES),
                DeliveryRow.next_attempt_at == ensure_utc(seen_next_attempt_at),
            )
            .values(next_attempt_at=ensure_utc(until), updated_at=utc_now())
            .execution_options(synchronize_session=False)
        )
        return (await self.session.execute(statement)).rowcount == 1

    async def list(
        self,
        instance_id: str | None = None,
        status: DeliveryStatus | str | Iterable[DeliveryStatus | str] | None = None,
        limit: int | None = None,
    ) -> list[WebhookDelivery]:
        """Return deliveries matching the filters, newest first."""
        query = select(DeliveryRow)
        if instance_id is not None:
            query = query.where(DeliveryRow.instance_id == instance_id)
        if status is not None:
            wanted = [status] if isinstance(status, str) else list(status)
            query = query.where(DeliveryRow.status.in_([DeliveryStatus(s).value for s in wanted]))
        query = query.order_by(DeliveryRow.created_at.desc(), DeliveryRow.delivery_id.desc())
        if limit is not None:
            query = query.limit(limit)
        return [_to_model(row) for row in (await self.session.execute(query)).scalars()]
