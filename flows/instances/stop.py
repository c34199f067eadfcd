"""Stop an instance: stop call, wait until Novita reports `exited`, record, tell the owner.

An instance that is already stopped (our status stopped/exited and Novita says exited) is a
no-op that says so. When Novita says exited but our record still says it serves (stopped
or reclaimed behind our back), no stop call is made either: the record is brought up to
date and the owner told. A stop while a start, provisioning or migration is in progress is
refused unless `force` is set, so a stop never races a start half-way.
"""

from __future__ import annotations

import time
from datetime import datetime
from typing import Any, NoReturn

from prefect import get_run_logger
from pydantic import BaseModel, Field

from clients.novita import InstanceStatus, NovitaError
from clients.webhook_payload import WebhookEvent
from flows.flow_resources import FlowResources
from flows.instance_lookup import InstanceTarget
from flows.lifecycle_errors import OperationRefusedError, StopFailedError
from flows.stop_request import NOVITA_STOPPING, request_stop
from store import DesiredState, LifecycleStatus, OperationKind, OperationOutcome, utc_now
from tasks.wait_for_status import InstanceWaitError, wait_for_status

STOPPED = frozenset({LifecycleStatus.STOPPED, LifecycleStatus.EXITED})
STOPPABLE = frozenset(
    {
        LifecycleStatus.RUNNING,
        LifecycleStatus.HEALTH_CHECKING,
        LifecycleStatus.READY,
        LifecycleStatus.FAILED,
        LifecycleStatus.STOPPING,  # a stop that crashed half-way may be run again
        *STOPPED,
    }
)
"""Our statuses a stop may begin from (the claim is a compare-and-set from these)."""

BUSY = frozenset({LifecycleStatus.CREATING, LifecycleStatus.STARTING, LifecycleStatus.MIGRATING})
"""A start, provisioning or migration owns the instance: stop only with `force`."""


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
        self.logger = get_run_logger()

    async def run(self) -> StopResult:
        """Check → (no-op when already exited) → claim → stop → wait for exited → record."""
        target, record, live = self.target, self.target.record, self.target.live
        if record is not None and record.status == LifecycleStatus.DELETED:
            await self.refuse(f"{target.label} was deleted; there is nothing to stop")
        if live is None:
            await self.refuse(f"Novita no longer knows {target.label}; there is nothing to stop")
        if self.previous in BUSY and not self.force:
            await self.refuse(
                f"Stop of {target.label} refused: a start, provisioning or migration is in "
                f"progress (our status {self.previous}); wait for it, or pass force=true"
            )
        if live.status == InstanceStatus.EXITED:
            return await self.already_exited()
        if live.status not in NOVITA_STOPPING and live.status != InstanceStatus.RUNNING:
            await self.refuse(
                f"{target.label} cannot be stopped while Novita reports {live.status_raw!r}; "
                "only a running instance can be stopped (try again once it runs)"
            )
        await self.claim()
        await self.request_stop(already_stopping=live.status in NOVITA_STOPPING)
        stopped_at = await self.wait_until_exited()
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
            await self._record(OperationOutcome.SKIPPED, {"already_stopped": True})
            return self._result(True, message, stopped_at)
        await self.res.store.set_desired_state(self.instance_id, DesiredState.STOPPED)
        if record.status in STOPPED:
            message = f"{self.target.label} is already stopped; nothing to do"
            self.logger.info(message)
            await self._record(OperationOutcome.SKIPPED, {"already_stopped": True})
            return self._result(True, message, record.stopped_at)
        # Our record lagged behind Novita (stopped or reclaimed outside this flow).
        moved = await self.res.store.transition_status(
            self.instance_id, STOPPABLE | BUSY, LifecycleStatus.STOPPED, stopped_at=stopped_at
        )
        message = (
            f"{self.target.label} was already exited at Novita (our status was "
            f"{record.status}); recorded as stopped without a stop call"
        )
        self.logger.info(message)
        await self._record(OperationOutcome.SUCCEEDED, {"already_stopped": True})
        if moved:
            await self._notify(stopped_at, already=True)
        return self._result(True, message, stopped_at)

    # -- stop -----------------------------------------------------------------------------

    async def claim(self) -> None:
        """Move our status to `stopping` from a stoppable one (busy ones too with force)."""
        if not self.managed:
            await self._record(OperationOutcome.STARTED, {})
            return
        allowed = STOPPABLE | BUSY if self.force else STOPPABLE
        if not await self.res.store.transition_status(
            self.instance_id, allowed, LifecycleStatus.STOPPING
        ):
            current = await self.res.store.get_instance(self.instance_id)
            status = current.status if current else "unknown"
            await self.refuse(
                f"Stop of {self.target.label} refused: its status changed to {status} meanwhile"
            )
        self.logger.info("Stopping %s (our status was %s)", self.target.label, self.previous)
        await self.res.store.set_desired_state(self.instance_id, DesiredState.STOPPED)
        await self._record(
            OperationOutcome.STARTED, {"previous_status": str(self.previous), "force": self.force}
        )

    async def request_stop(self, already_stopping: bool) -> None:
        """Call stop unless Novita is already stopping it; a racing stop is not an error."""
        if already_stopping:
            self.logger.info("Novita is already stopping %s: waiting only", self.target.label)
            return
        try:
            accepted = await request_stop(self.res, self.instance_id)
        except NovitaError as exc:
            await self._give_up(f"Novita refused to stop {self.target.label}: {exc}", exc)
        if accepted is None:
            self.logger.info("Another stop got there first: waiting")
        else:
            self.logger.info("Novita accepted the stop (state %s)", accepted.state)

    async def _give_up(self, message: str, exc: Exception) -> NoReturn:
        if self.managed and self.previous is not None:
            await self.res.store.transition_status(
                self.instance_id, {LifecycleStatus.STOPPING}, self.previous, reason=message
            )
        self.logger.error(message)
        await self._record(OperationOutcome.FAILED, {"error": message})
        raise StopFailedError(message) from exc

    async def wait_until_exited(self) -> datetime:
        """Poll until Novita reports exited (bounded by the deadline)."""
        policies = self.res.policies
        try:
            await wait_for_status(
                self.res.client,
                self.instance_id,
                [InstanceStatus.EXITED],
                deadline_seconds=max(self.deadline_at - time.monotonic(), 0.0),
                poll_initial_seconds=policies.poll_initial_seconds,
                poll_max_seconds=policies.poll_max_seconds,
            )
        except (InstanceWaitError, NovitaError) as exc:
            message = f"{self.target.label} did not stop: {exc}"
            if self.managed:
                # Stay `stopping` (a new stop run may continue), with the reason.
                await self.res.store.transition_status(
                    self.instance_id,
                    {LifecycleStatus.STOPPING},
                    LifecycleStatus.STOPPING,
                    reason=message,
                )
            self.logger.error(message)
            await self._record(OperationOutcome.FAILED, {"error": message})
            raise StopFailedError(message) from exc
        return utc_now()

    async def finish(self, stopped_at: datetime) -> StopResult:
        """Record `stopped`, the history and tell the owner."""
        if self.managed:
            await self.res.store.set_status(
                self.instance_id, LifecycleStatus.STOPPED, stopped_at=stopped_at
            )
        await self._record(OperationOutcome.SUCCEEDED, {"previous_status": str(self.previous)})
        await self._notify(stopped_at, already=False)
        message = f"{self.target.label} stopped"
        self.logger.info(message)
        return self._result(False, message, stopped_at)

    # -- helpers --------------------------------------------------------------------------

    async def refuse(self, message: str) -> NoReturn:
        """Record the refusal and end the run Failed; nothing was asked of Novita."""
        self.logger.warning("Stop refused: %s", message)
        await self._record(OperationOutcome.SKIPPED, {"refused": message})
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

    async def _record(self, outcome: OperationOutcome, detail: dict[str, Any]) -> None:
        await self.res.store.record_operation(
            self.instance_id,
            OperationKind.STOP,
            outcome,
            flow_run_id=self.res.flow_run_id,
            detail=detail | {"managed": self.managed},
            name=self.target.name,
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
