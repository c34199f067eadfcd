"""Stop an instance: stop call, wait until Novita reports `exited`, record, tell the owner.

An instance that is already stopped (our status stopped/exited and Novita says exited) is a
no-op that says so. When Novita says exited but our record still says it serves (stopped
or reclaimed behind our back), no stop call is made either: the record is brought up to
date and the owner told. A stop while a start, provisioning or migration is in progress is
refused unless `force` is set, so a stop never races a start half-way
(`flows/instances/rules.py`).
"""

from __future__ import annotations

import time
from datetime import datetime
from typing import Any, NoReturn

from pydantic import BaseModel, Field

from clients.novita import InstanceStatus, NovitaError
from clients.webhook_payload import WebhookEvent
from flows.common.activity import busy_flow_activity
from flows.common.resources import FlowResources
from flows.common.run_logger import run_logger
from flows.instances.errors import OperationRefusedError, StopFailedError
from flows.instances.lookup import InstanceTarget
from flows.instances.rules import STOPPABLE, stop_refusal
from flows.instances.stopping import ask_to_stop, wait_until_exited
from store import DesiredState, LifecycleStatus, OperationKind, OperationOutcome, utc_now
from store.statuses import BRINGING_UP, BUSY, NOVITA_STOPPING, STOPPED


class StopResult(BaseModel):
    """What `stop-instance` returns."""

    instance_id: str
    name: str | None = None
    managed: bool = Field(description="False: Novita knows the instance, the store does not")
    status: str = Field(description="stopped")
    already_stopped: bool = Field(description="True: Novita already reported exited; no stop call")
    stopped_at: datetime | None = None
    message: str


class Shutdown:
    """The steps of one stop, sharing the run's resources and the target instance."""

    def __init__(
        self, res: FlowResources, target: InstanceTarget, deadline_minutes: float, force: bool
    ) -> None:
        self.res = res
        self.target = target
        self.instance_id = target.instance_id
        self.managed = target.managed
        self.force = force
        self.deadline_at = time.monotonic() + deadline_minutes * 60
        self.previous: LifecycleStatus | None = target.record.status if self.managed else None
        self.logger = run_logger(__name__)
        self.journal = res.journal.operation(
            OperationKind.STOP,
            self.instance_id,
            name=target.name,
            managed=self.managed,
            detail={"managed": self.managed},
        )

    async def run(self) -> StopResult:
        """Check → (no-op when already exited) → claim → stop → wait for exited → record."""
        target = self.target
        refusal = stop_refusal(target.label, target.record, self.managed, target.live, self.force)
        if refusal is not None:
            await self.refuse(refusal)
        assert target.live is not None  # stop_refusal refuses an instance Novita forgot
        if target.live.status == InstanceStatus.EXITED:
            return await self.already_exited()
        await self.claim()
        await self.request_stop(already_stopping=target.live.status in NOVITA_STOPPING)
        stopped_at = await wait_until_exited(self.res, self.journal, target.label, self.deadline_at)
        return await self.finish(stopped_at)

    # -- no-op ----------------------------------------------------------------------------

    async def already_exited(self) -> StopResult:
        """Novita already reports exited: no stop call; bring the record up to date."""
        record = self.target.record
        # Our clock, not Novita's lastStoppedAt: every timestamp in the store reads alike.
        stopped_at = utc_now()
        if not self.managed or record is None:
            message = f"{self.target.label} is already stopped (Novita reports exited)"
            self.logger.info(message)
            await self.journal.record(OperationOutcome.SKIPPED, {"already_stopped": True})
            return self._result(True, message, stopped_at)
        if record.status in STOPPED:
            message = f"{self.target.label} is already stopped; nothing to do"
            self.logger.info(message)
            await self.journal.record(
                OperationOutcome.SKIPPED, {"already_stopped": True}, desired=DesiredState.STOPPED
            )
            return self._result(True, message, record.stopped_at)
        if record.status in BUSY:
            activity = await busy_flow_activity(self.res.store, [record])
            if activity.state_of(record.instance_id) == "acting":
                # Another run's stop got there first and is recording it: not ours to record.
                message = (
                    f"{self.target.label} is being stopped by another flow run (our status "
                    f"{record.status}; Novita reports exited): nothing to do"
                )
                self.logger.info(message)
                await self.journal.record(
                    OperationOutcome.SKIPPED, {"already_stopped": True, "another_run": True}
                )
                return self._result(True, message, stopped_at)
        # Our record lagged behind Novita (stopped or reclaimed outside this flow).
        allowed = STOPPABLE | BRINGING_UP
        await self.journal.record(None, desired=DesiredState.STOPPED)
        done = await self.journal.record(
            OperationOutcome.SUCCEEDED,
            {"already_stopped": True},
            # on the status we read: when it changed meanwhile, someone else recorded it
            expect={record.status} if record.status in allowed else allowed,
            status=LifecycleStatus.STOPPED,
            stopped_at=stopped_at,
            otherwise=OperationOutcome.SKIPPED,
        )
        message = (
            f"{self.target.label} was already exited at Novita (our status was "
            f"{record.status}); recorded as stopped without a stop call"
        )
        self.logger.info(message)
        if done.applied:
            await self._notify(stopped_at, already=True)
        return self._result(True, message, stopped_at)

    # -- stop -----------------------------------------------------------------------------

    async def claim(self) -> None:
        """Move our status to `stopping` from a stoppable one (busy ones too with force)."""
        claim = await self.journal.claim(
            self.target.record if self.managed else None,
            allowed=STOPPABLE | BRINGING_UP if self.force else STOPPABLE,
            status=LifecycleStatus.STOPPING,
            desired=DesiredState.STOPPED,
            detail={"previous_status": str(self.previous), "force": self.force},
        )
        if not claim.won:
            await self.refuse(f"Stop of {self.target.label} refused: {claim.why}")
        if self.managed:
            self.logger.info("Stopping %s (our status was %s)", self.target.label, self.previous)

    async def request_stop(self, already_stopping: bool) -> None:
        """Call stop unless Novita is already stopping it; a racing stop is not an error."""
        if already_stopping:
            self.logger.info("Novita is already stopping %s: waiting only", self.target.label)
            return
        try:
            await ask_to_stop(self.res, self.instance_id, self.target.label)
        except NovitaError as exc:
            await self._give_up(f"Novita refused to stop {self.target.label}: {exc}", exc)

    async def _give_up(self, message: str, exc: Exception) -> NoReturn:
        self.logger.error(message)
        await self.journal.record(
            OperationOutcome.FAILED,
            {"error": message},
            expect={LifecycleStatus.STOPPING} if self.previous is not None else None,
            status=self.previous,
            reason=message,
            otherwise=OperationOutcome.FAILED,
        )
        raise StopFailedError(message) from exc

    async def finish(self, stopped_at: datetime) -> StopResult:
        """Record `stopped`, the history and tell the owner."""
        await self.journal.record(
            OperationOutcome.SUCCEEDED,
            {"previous_status": str(self.previous)},
            status=LifecycleStatus.STOPPED,
            stopped_at=stopped_at,
        )
        await self._notify(stopped_at, already=False)
        message = f"{self.target.label} stopped"
        self.logger.info(message)
        return self._result(False, message, stopped_at)

    # -- helpers --------------------------------------------------------------------------

    async def refuse(self, message: str) -> NoReturn:
        """Record the refusal and end the run Failed; nothing was asked of Novita."""
        self.logger.warning("Stop refused: %s", message)
        await self.journal.record(OperationOutcome.SKIPPED, {"refused": message})
        raise OperationRefusedError(message)

    async def _notify(self, stopped_at: datetime, *, already: bool) -> None:
        data: dict[str, Any] = self.target.event_data() | {
            "stoppedAt": stopped_at,
            "previousStatus": str(self.previous) if self.previous else None,
            "alreadyExitedAtNovita": already,
        }
        await self.res.webhooks.notify(
            self.target.webhook_url, WebhookEvent.STOPPED, "stopped", self.instance_id, data
        )

    def _result(self, already: bool, message: str, stopped_at: datetime | None) -> StopResult:
        return StopResult(
            instance_id=self.instance_id,
            name=self.target.name,
            managed=self.managed,
            status="stopped",
            already_stopped=already,
            stopped_at=stopped_at,
            message=message,
        )
