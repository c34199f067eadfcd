"""Record that a managed machine was used, so auto-stop leaves it running.

`last_used_at` only moves forward: the store's step applies only when the signal is newer
than the last use, and an older signal is recorded as skipped, in the same transaction.
No Novita call and no webhook (there is no such event).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from pydantic import BaseModel, Field

from flows.common.resources import FlowResources
from flows.common.run_logger import run_logger
from flows.instances.errors import OperationRefusedError
from flows.instances.lookup import find_target
from store import LifecycleStatus, OperationKind, OperationOutcome, utc_now

MARK_USED_CLOCK_SKEW = timedelta(minutes=5)
"""A use signal may be this far ahead of our clock; further ahead is refused as a mistake
(a last use in the future would keep the instance from ever being auto-stopped)."""


class MarkUsedResult(BaseModel):
    """What `mark-instance-used` returns."""

    instance_id: str
    name: str
    signal_at: datetime = Field(description="The use signal, in UTC")
    last_used_at: datetime | None = Field(description="Last use after this signal")
    previous_last_used_at: datetime | None = None
    moved_forward: bool = Field(description="False: an older signal, last use kept")
    message: str


def signal_time(at: datetime | None) -> datetime:
    """The use signal in UTC: now by default, naive taken as UTC, far future refused.

    Raises:
        ValueError: more than `MARK_USED_CLOCK_SKEW` ahead of now.

    Example:
        >>> signal_time(datetime(2026, 1, 1, 12)).isoformat()
        '2026-01-01T12:00:00+00:00'

    """
    if at is None:
        return utc_now()
    # Prefect's run form and CLI often send datetimes without a zone; UTC is the only
    # reading that does not depend on where the worker runs.
    try:
        signal = at.replace(tzinfo=UTC) if at.tzinfo is None else at.astimezone(UTC)
    except OverflowError as exc:  # year 1 east of UTC, year 9999 west of it
        raise ValueError(f"at={at.isoformat()} is outside the dates UTC can hold") from exc
    if signal > utc_now() + MARK_USED_CLOCK_SKEW:
        raise ValueError(
            f"at={signal.isoformat()} is in the future; a use signal must be at most "
            f"{int(MARK_USED_CLOCK_SKEW.total_seconds() // 60)} minutes ahead of now"
        )
    return signal


async def mark_used(
    res: FlowResources, instance_id: str | None, name: str | None, signal_at: datetime
) -> MarkUsedResult:
    """Move the last use of a managed instance forward to `signal_at` (never backwards).

    Raises:
        OperationRefusedError: the instance was deleted.
        InstanceLookupError: the store does not manage it.

    Example:
        ```python
        result = await mark_used(res, None, "trainer-1", utc_now())
        ```

    """
    target = await find_target(res, instance_id, name, ask_novita=False)
    record = target.record
    if record is None or record.status == LifecycleStatus.DELETED:
        raise OperationRefusedError(f"{target.label} was deleted; a use signal means nothing now")
    before = record.last_used_at
    journal = res.journal.operation(OperationKind.MARK_USED, record.instance_id, name=record.name)
    detail = {
        "at": signal_at.isoformat(),
        "previous_last_used_at": before.isoformat() if before else None,
    }
    done = await journal.record(
        OperationOutcome.SUCCEEDED,
        detail | {"moved_forward": True},
        used_at=signal_at,
        otherwise=OperationOutcome.SKIPPED,
        otherwise_detail=detail | {"moved_forward": False},
    )
    moved = done.applied
    if not moved:
        message = (
            f"Last use of {target.label} kept at {before.isoformat() if before else None}: "
            f"the signal {signal_at.isoformat()} is older"
        )
    else:
        message = f"Last use of {target.label} set to {signal_at.isoformat()}"
    run_logger(__name__).info(message)
    return MarkUsedResult(
        instance_id=record.instance_id,
        name=record.name,
        signal_at=signal_at,
        last_used_at=done.record.last_used_at if done.record else None,
        previous_last_used_at=before,
        moved_forward=moved,
        message=message,
    )
