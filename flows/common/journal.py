"""The one journal: every write a flow makes about an instance, one store call per step.

A step of an operation (claim, new status, the owner's wish, a migration attempt, the
history entry) is written by ONE `StateStore.apply_step` call in one transaction, and the
`novita.instance.<status>` event of a new status follows it. No flow writes a status, a
desired state or an operation record any other way (tests/test_layering.py checks it).

`Journal` is the flow run's; `OperationJournal` is one operation (a stop, a migration...) on
one instance: it carries the kind, the instance, whether the store manages it, and the facts
every entry repeats, so each step names only what is new.

Claims are compare-and-set on the status the flow observed: of two workers that read the
same record, one wins. Re-claiming a busy record (a stop run again after a crash) also needs
the run that made it busy to have ended, and the record to be the version that was read.

Example:
    ```python
    stop = res.journal.operation(OperationKind.STOP, instance_id, name=name)
    claim = await stop.claim(record, allowed=STOPPABLE, status=LifecycleStatus.STOPPING,
                             desired=DesiredState.STOPPED)
    if not claim.won:
        raise OperationRefusedError(claim.why)
    ...
    await stop.record(OperationOutcome.SUCCEEDED, status=LifecycleStatus.STOPPED,
                      stopped_at=utc_now())
    ```

"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from flows.common.activity import busy_flow_activity
from flows.common.events import emit_instance_event
from flows.common.keep_alive import KeepAlive
from store import (
    DesiredState,
    InstanceStep,
    LifecycleStatus,
    ManagedInstance,
    OperationEntry,
    OperationKind,
    OperationOutcome,
    RecordChange,
    StateStore,
    StepOutcome,
)
from store.statuses import BUSY

ENDS_AN_OPERATION = frozenset(
    {OperationOutcome.SUCCEEDED, OperationOutcome.FAILED, OperationOutcome.SKIPPED}
)
"""History outcomes after which the operation no longer owns its record."""


@dataclass(frozen=True)
class Claim:
    """Whether a claim won, and why not when it did not.

    Example:
        >>> Claim(won=False, why="its status changed to stopping meanwhile").won
        False

    """

    won: bool
    why: str | None = None
    outcome: StepOutcome | None = None


class Journal:
    """The journal of one flow run: writes steps, emits the events of new statuses.

    Example:
        ```python
        journal = Journal(store, flow_run_id)
        await journal.record_status(instance_id, LifecycleStatus.READY, ready_at=utc_now())
        ```

    """

    def __init__(self, store: StateStore, flow_run_id: str | None) -> None:
        self.store = store
        self.flow_run_id = flow_run_id
        self.heartbeats: dict[str, KeepAlive] = {}
        """The busy records this run owns and keeps alive, by instance id."""

    def keep_alive(self, instance_id: str) -> None:
        """Touch this busy record while the operation acts (see `flows.common.keep_alive`)."""
        beat = self.heartbeats.setdefault(instance_id, KeepAlive(self.touch_busy, instance_id))
        beat.start()

    async def touch_busy(self, instance_id: str) -> StepOutcome:
        """Renew a busy record's `updated_at` (its owner's heartbeat); nothing if not busy."""
        still_busy = RecordChange(expect_status=frozenset(BUSY))
        return await self.store.apply_step(InstanceStep(instance_id=instance_id, change=still_busy))

    async def let_go(self, instance_id: str) -> None:
        """Stop keeping this record alive (its operation ended)."""
        beat = self.heartbeats.pop(instance_id, None)
        if beat is not None:
            await beat.stop()

    async def close(self) -> None:
        """Stop every heartbeat of the run (the flow run ends)."""
        for instance_id in list(self.heartbeats):
            await self.let_go(instance_id)

    async def write(self, step: InstanceStep) -> StepOutcome:
        """Write one step; emit `novita.instance.<status>` when it gave the record a status."""
        outcome = await self.store.apply_step(step)
        if outcome.status_changed and outcome.record is not None:
            emit_instance_event(outcome.record, step.change.reason if step.change else None)
        return outcome

    async def record_status(
        self,
        instance_id: str,
        status: LifecycleStatus,
        *,
        reason: str | None = None,
        expect: Iterable[LifecycleStatus] | None = None,
        **timestamps: datetime | None,
    ) -> StepOutcome:
        """A step that only moves the status on (a phase, not an operation of its own).

        Example:
            ```python
            await journal.record_status(iid, LifecycleStatus.RUNNING, expect={"creating"})
            ```

        """
        change = RecordChange(
            expect_status=frozenset(expect) if expect is not None else None,
            status=status,
            reason=reason,
            timestamps=timestamps,
        )
        return await self.write(InstanceStep(instance_id=instance_id, change=change))

    def operation(
        self,
        kind: OperationKind,
        instance_id: str,
        *,
        name: str | None = None,
        managed: bool = True,
        detail: Mapping[str, Any] | None = None,
    ) -> OperationJournal:
        """The journal of one operation on one instance.

        Args:
            kind: What the operation is (stop, migration...).
            instance_id: The Novita id it acts on.
            name: The instance name (kept on entries of unmanaged instances).
            managed: False for an instance the store does not manage: only the history
                is written, never a record.
            detail: Facts every entry of this operation carries.

        Example:
            ```python
            stop = journal.operation(OperationKind.STOP, iid, name="trainer-1")
            ```

        """
        return OperationJournal(self, kind, instance_id, name, managed, dict(detail or {}))


class OperationJournal:
    """The steps of one operation on one instance (see `Journal.operation`)."""

    def __init__(
        self,
        journal: Journal,
        kind: OperationKind,
        instance_id: str,
        name: str | None,
        managed: bool,
        detail: dict[str, Any],
    ) -> None:
        self.journal = journal
        self.kind = kind
        self.instance_id = instance_id
        self.name = name
        self.managed = managed
        self.detail = detail

    def _entry(
        self, outcome: OperationOutcome | None, detail: Mapping[str, Any] | None
    ) -> OperationEntry | None:
        if outcome is None:
            return None
        return OperationEntry(
            kind=self.kind,
            outcome=outcome,
            detail=self.detail | dict(detail or {}),
            flow_run_id=self.journal.flow_run_id,
            name=self.name,
        )

    async def record(
        self,
        outcome: OperationOutcome | None,
        detail: Mapping[str, Any] | None = None,
        *,
        expect: Iterable[LifecycleStatus] | None = None,
        expect_updated_at: datetime | None = None,
        status: LifecycleStatus | None = None,
        reason: str | None = None,
        desired: DesiredState | None = None,
        used_at: datetime | None = None,
        migration_attempts: Literal["count", "reset"] | None = None,
        otherwise: OperationOutcome | None = None,
        otherwise_detail: Mapping[str, Any] | None = None,
        fields: Mapping[str, Any] | None = None,
        move_to: str | None = None,
        **timestamps: datetime | None,
    ) -> StepOutcome:
        """Write one step: the record's change (managed only) and the history entry.

        `outcome` None writes no entry (a change only); `otherwise` is the entry written
        instead (with `otherwise_detail`, else `detail`) when the change's condition
        (`expect`, `used_at`) does not hold. `move_to`
        moves the record to a new Novita id, then `fields` inserts it or updates those fields.

        Example:
            ```python
            await stop.record(OperationOutcome.FAILED, {"error": message},
                              expect={LifecycleStatus.STOPPING}, status=previous,
                              reason=message)
            ```

        """
        change = None
        wants_change = (
            expect is not None
            or expect_updated_at is not None
            or status is not None
            or desired is not None
            or used_at is not None
            or migration_attempts is not None
            or bool(timestamps)
        )
        if self.managed and wants_change:
            change = RecordChange(
                expect_status=frozenset(expect) if expect is not None else None,
                expect_updated_at=expect_updated_at,
                status=status,
                reason=reason,
                desired_state=desired,
                timestamps=timestamps,
                used_at=used_at,
                migration_attempts=migration_attempts,
            )
        if change is None and outcome is None and fields is None and move_to is None:
            return StepOutcome(applied=True)  # nothing to write (an unmanaged instance's wish)
        step = InstanceStep(
            instance_id=self.instance_id,
            fields=dict(fields) if fields is not None and self.managed else None,
            move_to=move_to if self.managed else None,
            change=change,
            operation=self._entry(outcome, detail),
            otherwise=self._entry(
                otherwise, detail if otherwise_detail is None else otherwise_detail
            ),
        )
        done = await self.journal.write(step)
        if move_to is not None and done.record is not None:
            kept_alive = self.instance_id in self.journal.heartbeats
            await self.journal.let_go(self.instance_id)
            self.instance_id = done.record.instance_id
            if kept_alive:  # the operation goes on under the new id
                self.journal.keep_alive(self.instance_id)
        written = outcome if done.applied else otherwise
        if written in ENDS_AN_OPERATION:
            await self.journal.let_go(self.instance_id)
        elif self.managed and written == OperationOutcome.STARTED:
            self.journal.keep_alive(self.instance_id)
        return done

    async def claim(
        self,
        observed: ManagedInstance | None,
        *,
        allowed: Iterable[LifecycleStatus],
        status: LifecycleStatus,
        detail: Mapping[str, Any] | None = None,
        reason: str | None = None,
        desired: DesiredState | None = None,
        migration_attempts: Literal["count", "reset"] | None = None,
    ) -> Claim:
        """Take the instance for this operation: `observed.status → status`, atomically.

        The claim is a compare-and-set on the status the caller observed (it must be one of
        `allowed`), written with the `started` entry and the owner's new wish in one step.
        An unmanaged instance (no record) is claimed by its `started` entry alone.

        Example:
            ```python
            claim = await stop.claim(target.record, allowed=STOPPABLE,
                                     status=LifecycleStatus.STOPPING,
                                     desired=DesiredState.STOPPED)
            ```

        """
        if not self.managed or observed is None:
            return Claim(won=True, outcome=await self.record(OperationOutcome.STARTED, detail))
        if observed.status not in set(allowed):
            return Claim(won=False, why=f"its status is {observed.status}")
        version = None
        if observed.status in BUSY:
            activity = await busy_flow_activity(self.journal.store, [observed])
            if activity.state_of(observed.instance_id) == "acting":
                return Claim(
                    won=False,
                    why=f"another flow run is still acting on it (our status {observed.status})",
                )
            version = observed.updated_at  # of two re-claims that read it, one wins
        done = await self.record(
            OperationOutcome.STARTED,
            detail,
            expect={observed.status},
            expect_updated_at=version,
            status=status,
            reason=reason,
            desired=desired,
            migration_attempts=migration_attempts,
        )
        if done.applied:
            return Claim(won=True, outcome=done)
        now = done.record.status if done.record is not None else "unknown"
        return Claim(won=False, why=f"its status changed to {now} meanwhile", outcome=done)
