"""Stop one idle instance for the auto-stop sweep: re-read, claim, stop, wait, record, tell.

The sweep decided from one list call; right before acting, Novita's live status (and, for a
managed instance, our record) is read again, so an instance used, stopped or taken over by a
start in the meantime is left alone. A managed instance ends `stopped` with desired state
`stopped`, an `auto_stop` entry in its history and an `instance.auto_stopped` webhook; an
unmanaged one is stopped and recorded under its id and name (no webhook: no owner URL).
The team's notification blocks hear about both.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, NoReturn

from prefect import get_run_logger

from clients.novita import InstanceStatus, NovitaError
from clients.webhook_payload import WebhookEvent
from flows.auto_stop_rules import IdleInstance, idle_minutes, last_use
from flows.flow_resources import FlowResources
from flows.human_notifications import notify_humans
from flows.instance_lookup import InstanceTarget, read_live
from flows.stop_request import request_stop
from flows.sweep_report import InstanceSkippedError
from store import DesiredState, LifecycleStatus, OperationKind, OperationOutcome, utc_now
from tasks.wait_for_status import InstanceWaitError, wait_for_status

STOP_DEADLINE_MINUTES = 10.0
"""How long one auto-stop waits for Novita to report the instance exited."""


class AutoStopFailedError(RuntimeError):
    """The stop of one idle instance was attempted and did not complete."""


class AutoStop:
    """The steps of stopping one idle instance, sharing the run's resources.

    Example:
        ```python
        stopped_at = await AutoStop(res, idle).run()
        ```

    """

    def __init__(self, res: FlowResources, idle: IdleInstance) -> None:
        self.res = res
        self.idle = idle
        self.instance_id = idle.instance_id
        self.label = f"{idle.name!r} ({idle.instance_id})" if idle.name else idle.instance_id
        self.logger = get_run_logger()
        self.target = InstanceTarget(instance_id=idle.instance_id, name=idle.name)

    async def run(self) -> datetime:
        """Re-check, claim, stop, wait for exited and record; returns when it stopped.

        Raises:
            InstanceSkippedError: the re-read shows it must be left alone (nothing was done).
            AutoStopFailedError: Novita refused the stop or it did not finish in time.

        """
        await self.recheck()
        await self.claim()
        await self.request_stop()
        stopped_at = await self.wait_until_exited()
        await self.finish(stopped_at)
        return stopped_at

    # -- re-check and claim ---------------------------------------------------------------

    async def recheck(self) -> None:
        """Read Novita's live status (and our record) again right before stopping."""
        live = await read_live(self.res, self.instance_id)
        if live is None:
            raise InstanceSkippedError("Novita no longer knows it")
        if live.status != InstanceStatus.RUNNING:
            raise InstanceSkippedError(f"Novita now reports {live.status_raw or live.status}")
        self.target.live = live
        if not self.idle.managed:
            return
        record = await self.res.store.get_instance(self.instance_id)
        if record is None or record.status == LifecycleStatus.DELETED:
            raise InstanceSkippedError("no longer managed")
        if record.desired_state != DesiredState.RUNNING:
            raise InstanceSkippedError(f"desired state changed to {record.desired_state}")
        if record.status != LifecycleStatus.READY:
            raise InstanceSkippedError(f"our status changed to {record.status}")
        used = last_use(record)
        if used is not None and used > self.idle.last_used_at:
            ago = idle_minutes(used, utc_now())
            raise InstanceSkippedError(f"used meanwhile ({ago:g} min ago)")
        self.target.record = record

    async def claim(self) -> None:
        """Move our status `ready → stopping` atomically and record the owner's new wish."""
        if not self.idle.managed:
            await self._record(OperationOutcome.STARTED, {})
            return
        if not await self.res.store.transition_status(
            self.instance_id, {LifecycleStatus.READY}, LifecycleStatus.STOPPING
        ):
            raise InstanceSkippedError("our status changed meanwhile")
        await self.res.store.set_desired_state(self.instance_id, DesiredState.STOPPED)
        await self._record(OperationOutcome.STARTED, {})

    # -- stop -----------------------------------------------------------------------------

    async def request_stop(self) -> None:
        """Ask Novita to stop it; a stop that raced ours is not an error."""
        try:
            accepted = await request_stop(self.res, self.instance_id)
        except NovitaError as exc:
            await self._give_up(f"Novita refused to stop {self.label}: {exc}", exc)
        if accepted is None:
            self.logger.info("Another stop of %s got there first: waiting", self.label)
        else:
            self.logger.info("Novita accepted the auto-stop of %s (%s)", self.label, accepted.state)

    async def _give_up(self, message: str, exc: Exception) -> NoReturn:
        """Nothing was stopped: put our status and the owner's wish back, record, raise."""
        if self.idle.managed:
            await self.res.store.transition_status(
                self.instance_id, {LifecycleStatus.STOPPING}, LifecycleStatus.READY
            )
            await self.res.store.set_desired_state(self.instance_id, DesiredState.RUNNING)
        await self._record(OperationOutcome.FAILED, {"error": message})
        raise AutoStopFailedError(message) from exc

    async def wait_until_exited(self) -> datetime:
        """Poll until Novita reports exited; on timeout stay `stopping` with the reason."""
        policies = self.res.policies
        try:
            await wait_for_status(
                self.res.client,
                self.instance_id,
                [InstanceStatus.EXITED],
                deadline_seconds=STOP_DEADLINE_MINUTES * 60,
                poll_initial_seconds=policies.poll_initial_seconds,
                poll_max_seconds=policies.poll_max_seconds,
            )
        except (InstanceWaitError, NovitaError) as exc:
            message = f"{self.label} did not stop: {exc}"
            if self.idle.managed:
                await self.res.store.transition_status(
                    self.instance_id,
                    {LifecycleStatus.STOPPING},
                    LifecycleStatus.STOPPING,
                    reason=message,
                )
            await self._record(OperationOutcome.FAILED, {"error": message})
            raise AutoStopFailedError(message) from exc
        return utc_now()

    async def finish(self, stopped_at: datetime) -> None:
        """Record `stopped`, the history entry, the owner's webhook and the humans' message."""
        idle = self.idle
        if idle.managed:
            await self.res.store.set_status(
                self.instance_id, LifecycleStatus.STOPPED, stopped_at=stopped_at
            )
        await self._record(OperationOutcome.SUCCEEDED, {"stopped_at": stopped_at.isoformat()})
        if idle.managed:
            data: dict[str, Any] = self.target.event_data() | {
                "idleMinutes": idle.idle_minutes,
                "threshold": idle.threshold_minutes,
                "lastUsedAt": idle.last_used_at,
                "stoppedAt": stopped_at,
            }
            await self.res.webhooks.notify(
                self.target.webhook_url,
                WebhookEvent.AUTO_STOPPED,
                "stopped",
                self.instance_id,
                data,
            )
        kind = "" if idle.managed else " unmanaged instance"
        await notify_humans(
            self.res.policies,
            f"Novita: {idle.name or idle.instance_id} auto-stopped",
            f"Auto-stopped{kind} {self.label}: idle {idle.idle_minutes:g} min "
            f"(threshold {idle.threshold_minutes} min, last used "
            f"{idle.last_used_at.isoformat(timespec='seconds')}).",
        )

    async def _record(self, outcome: OperationOutcome, detail: dict[str, Any]) -> None:
        idle = self.idle
        await self.res.store.record_operation(
            self.instance_id,
            OperationKind.AUTO_STOP,
            outcome,
            flow_run_id=self.res.flow_run_id,
            detail=detail
            | {
                "managed": idle.managed,
                "idle_minutes": idle.idle_minutes,
                "threshold_minutes": idle.threshold_minutes,
                "last_used_at": idle.last_used_at.isoformat(),
            },
            name=idle.name,
        )
