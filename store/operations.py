"""Repository of the operation history (provision, start, stop, auto-stop, migration...).

An operation row keeps the Novita id it was about *and* the internal id of the managed
record, so the history of an instance survives a recreate-migration that gives it a new
Novita id: asking for either id returns the whole history of the record.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from store.clock import ensure_utc, utc_now
from store.instances import InstanceRepository
from store.models import Operation, OperationKind, OperationOutcome
from store.tables import OperationRow

logger = logging.getLogger(__name__)


class OperationRepository:
    """Appends to and reads the operation history within ``session``'s transaction.

    Example:
        >>> async def example(session: AsyncSession) -> None:
        ...     ops = OperationRepository(session)
        ...     await ops.record("0123456789abcdef", "stop", "succeeded", flow_run_id="f-1")
        ...     latest = await ops.list(instance_id="0123456789abcdef", limit=10)

    """

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def record(
        self,
        instance_id: str,
        kind: OperationKind | str,
        outcome: OperationOutcome | str,
        flow_run_id: str | None = None,
        detail: dict[str, Any] | None = None,
        at: datetime | None = None,
        *,
        name: str | None = None,
    ) -> Operation:
        """Append one operation; it is linked to the managed record when there is one.

        Args:
            instance_id: The Novita id the operation was about (managed or not).
            kind: What was done.
            outcome: ``started``, ``succeeded``, ``failed`` or ``skipped``.
            flow_run_id: The Prefect flow run that did it, when any.
            detail: JSON-able facts (reason, region, error...); never secrets.
            at: When (default now).
            name: The instance name, for an unmanaged instance (managed ones use theirs).

        """
        kind, outcome = OperationKind(kind), OperationOutcome(outcome)
        record = await InstanceRepository(self.session).find_record_id(instance_id)
        operation = Operation(
            id=0,  # placeholder: validates detail and at before anything is written
            instance_id=instance_id,
            name=record[1] if record else name,
            kind=kind,
            outcome=outcome,
            flow_run_id=flow_run_id,
            detail=detail,
            at=utc_now() if at is None else ensure_utc(at),
        )
        row = OperationRow(
            record_id=record[0] if record else None,
            instance_id=instance_id,
            name=operation.name,
            kind=kind.value,
            outcome=outcome.value,
            flow_run_id=flow_run_id,
            detail=operation.detail,
            at=operation.at,
        )
        self.session.add(row)
        await self.session.flush()
        logger.debug("operation %s %s recorded for %s", kind, outcome, instance_id)
        return Operation.model_validate(row)

    async def list(
        self,
        instance_id: str | None = None,
        kind: OperationKind | str | None = None,
        limit: int = 100,
    ) -> list[Operation]:
        """Return operations, newest first.

        Args:
            instance_id: Only the history of the record that has or had this Novita id
                (plus operations on that id recorded while it was unmanaged).
            kind: Only operations of this kind.
            limit: At most this many.

        """
        query = select(OperationRow)
        if instance_id is not None:
            record = await InstanceRepository(self.session).find_record_id(instance_id)
            if record is None:
                query = query.where(OperationRow.instance_id == instance_id)
            else:
                query = query.where(
                    or_(
                        OperationRow.instance_id == instance_id, OperationRow.record_id == record[0]
                    )
                )
        if kind is not None:
            query = query.where(OperationRow.kind == OperationKind(kind).value)
        query = query.order_by(OperationRow.at.desc(), OperationRow.id.desc()).limit(limit)
        result = await self.session.execute(query)
        return [Operation.model_validate(row) for row in result.scalars()]
