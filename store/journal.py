"""One step of an operation on one instance, written in one transaction: the store's journal.

A step is what a flow does at one moment of an operation: claim an instance (compare-and-set
its status), record the owner's new wish (desired state), move the status on, count a
migration attempt, and append the matching entry to the operation history. Written one by
one, two workers could both pass the check and both act; written as one ``InstanceStep``
by ``StateStore.apply_step``, everything lands together or nothing does:

- ``move_to`` moves the record to a new Novita id first, ``fields`` then inserts the record
  (or updates those fields of it);
- ``change`` is one conditional ``UPDATE``: with ``expect_status`` it only applies while the
  status is one of those (the claim), with ``used_at`` only while the last use is older;
- ``operation`` is appended when the change applied, ``otherwise`` when it did not.

Example:
    >>> step = InstanceStep(
    ...     instance_id="0123456789abcdef",
    ...     change=RecordChange(expect_status={"ready"}, status="stopping",
    ...                         desired_state="stopped"),
    ...     operation=OperationEntry(kind="stop", outcome="started"),
    ... )
    >>> sorted(step.change.expect_status)
    [<LifecycleStatus.READY: 'ready'>]

"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import or_, update

from store.clock import ensure_utc, utc_now
from store.errors import InstanceNotFoundError
from store.instances import TIMESTAMP_FIELDS, InstanceRepository
from store.models import (
    DesiredState,
    LifecycleStatus,
    ManagedInstance,
    Operation,
    OperationKind,
    OperationOutcome,
)
from store.operations import OperationRepository
from store.tables import InstanceRow

__all__ = ["InstanceStep", "OperationEntry", "RecordChange", "StepOutcome", "write_step"]


class RecordChange(BaseModel):
    """What a step changes on the managed record; a field left unset stays as it is.

    Attributes:
        expect_status: Compare-and-set: apply only while the status is one of these.
        expect_updated_at: And only while the record was last written at this moment (a
            re-claim of a busy record: of two that read the same version, one wins).
        status: The new lifecycle status; its ``reason`` is written with it (None clears).
        reason: Why the status is what it is (only written together with ``status``).
        desired_state: What the owner now wants.
        timestamps: ``created_at``, ``ready_at``, ``stopped_at``, ``last_migration_at``...
        used_at: Move ``last_used_at`` forward to this moment; an older one does not apply.
        migration_attempts: ``count`` one more attempt (and stamp ``last_migration_at``),
            or ``reset`` the counter after a recovery.

    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    expect_status: frozenset[LifecycleStatus] | None = None
    expect_updated_at: datetime | None = None
    status: LifecycleStatus | None = None
    reason: str | None = None
    desired_state: DesiredState | None = None
    timestamps: dict[str, datetime | None] = Field(default_factory=dict)
    used_at: datetime | None = None
    migration_attempts: Literal["count", "reset"] | None = None


class OperationEntry(BaseModel):
    """An entry of the operation history (``detail`` never holds secrets)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    kind: OperationKind
    outcome: OperationOutcome
    detail: dict[str, Any] | None = None
    flow_run_id: str | None = None
    name: str | None = Field(default=None, description="For an unmanaged instance")


class InstanceStep(BaseModel):
    """Everything one step writes about one instance (see the module docstring)."""

    model_config = ConfigDict(extra="forbid")

    instance_id: str = Field(max_length=64, description="'' for an operation on no instance yet")
    move_to: str | None = Field(default=None, description="Move the record to this Novita id")
    fields: dict[str, Any] | None = Field(
        default=None, description="Fields of the record to insert, or to update if it exists"
    )
    change: RecordChange | None = None
    operation: OperationEntry | None = None
    otherwise: OperationEntry | None = Field(
        default=None, description="Appended instead of `operation` when the change did not apply"
    )


class StepOutcome(BaseModel):
    """What a step did: whether its change applied, the record as it now is, the entry added."""

    applied: bool
    record: ManagedInstance | None = None
    operation: Operation | None = None
    status_changed: bool = Field(
        default=False, description="The record got a new status (or is new): an event is due"
    )


def _change_values(change: RecordChange) -> dict[str, Any]:
    unknown = set(change.timestamps) - TIMESTAMP_FIELDS
    if unknown:
        raise TypeError(f"unknown timestamp field(s) {sorted(unknown)}")
    values: dict[str, Any] = {
        key: None if value is None else ensure_utc(value)
        for key, value in change.timestamps.items()
    }
    if change.status is not None:
        values |= {"status": change.status.value, "status_reason": change.reason}
    if change.desired_state is not None:
        values["desired_state"] = change.desired_state.value
    if change.used_at is not None:
        values["last_used_at"] = ensure_utc(change.used_at)
    if change.migration_attempts == "count":
        values["migration_attempts"] = InstanceRow.migration_attempts + 1
        values.setdefault("last_migration_at", utc_now())
    elif change.migration_attempts == "reset":
        values["migration_attempts"] = 0
    return values


async def _apply_change(
    instances: InstanceRepository, instance_id: str, change: RecordChange
) -> bool:
    """One conditional UPDATE; True when it changed the record."""
    statement = update(InstanceRow).where(InstanceRow.instance_id == instance_id)
    if change.expect_status is not None:
        allowed = [status.value for status in change.expect_status]
        statement = statement.where(InstanceRow.status.in_(allowed))
    if change.expect_updated_at is not None:
        statement = statement.where(InstanceRow.updated_at == ensure_utc(change.expect_updated_at))
    if change.used_at is not None:
        at = ensure_utc(change.used_at)
        statement = statement.where(
            or_(InstanceRow.last_used_at.is_(None), InstanceRow.last_used_at < at)
        )
    statement = statement.values(**_change_values(change), updated_at=utc_now())
    result = await instances.session.execute(statement.execution_options(synchronize_session=False))
    if result.rowcount == 1:
        return True
    conditional = (
        change.expect_status is not None
        or change.expect_updated_at is not None
        or change.used_at is not None
    )
    if not conditional and await instances.get(instance_id) is None:
        raise InstanceNotFoundError(instance_id)
    return False


async def write_step(
    instances: InstanceRepository, operations: OperationRepository, step: InstanceStep
) -> StepOutcome:
    """Write a step within the repositories' transaction (the caller's one transaction).

    A refused change writes nothing of itself and appends ``otherwise`` (if any) instead of
    ``operation``; ``move_to`` and ``fields`` are not conditional.

    Raises:
        InstanceNotFoundError: an unconditional change names an unmanaged instance.
        InstanceConflictError: ``fields`` or ``move_to`` breaks a uniqueness rule.

    Example:
        >>> async def claim(tx) -> bool:
        ...     done = await write_step(tx.instances, tx.operations, InstanceStep(
        ...         instance_id="0123456789abcdef",
        ...         change=RecordChange(expect_status={"ready"}, status="stopping")))
        ...     return done.applied

    """
    instance_id = step.instance_id
    if step.move_to is not None and step.move_to != instance_id:
        await instances.replace_instance_id(instance_id, step.move_to)
        instance_id = step.move_to
    if step.fields is not None:
        await instances.upsert(step.fields, instance_id=instance_id)
    applied = True
    if step.change is not None:
        applied = await _apply_change(instances, instance_id, step.change)
    entry = step.operation if applied else step.otherwise
    operation = None
    if entry is not None:
        operation = await operations.record(
            instance_id,
            entry.kind,
            entry.outcome,
            entry.flow_run_id,
            entry.detail,
            name=entry.name,
        )
    record = await instances.get(instance_id)
    new_status = step.change is not None and step.change.status is not None
    changed_status = (
        applied
        and record is not None
        and (step.fields is not None or step.move_to is not None or new_status)
    )
    return StepOutcome(
        applied=applied, record=record, operation=operation, status_changed=changed_status
    )
