"""Stop one idle instance for the auto-stop sweep: re-check, claim, stop, wait, record, tell.

The sweep decided from one list call; right before acting, Novita's live status (and, for a
managed instance, our record) is read again and decided by the same rules
(`flows/sweeps/auto_stop/rules.py`), so an instance used, stopped or taken over by a start in
the meantime is left alone. A managed instance ends `stopped` with desired state `stopped`,
an `auto_stop` entry in its history and an `instance.auto_stopped` webhook; an unmanaged one
is stopped and recorded under its id and name (no webhook: no owner URL). The team's
notification blocks hear about both.
"""

from __future__ import annotations

import time
from datetime import datetime, timedelta
from typing import Any, NoReturn

from clients.novita import NovitaError
from clients.webhook_payload import WebhookEvent
from flows.common.notifications import notify_humans
from flows.common.resources import FlowResources
from flows.common.run_logger import run_logger
from flows.common.use_events import newest_use_events
from flows.instances.errors import StopFailedError
from flows.instances.lookup import InstanceTarget, read_live
from flows.instances.mark_used import MARK_USED_CLOCK_SKEW
from flows.instances.stopping import ask_to_stop, wait_until_exited
from flows.sweeps.auto_stop.rules import IdleInstance, recheck
from flows.sweeps.outcomes import InstanceSkippedError, SkippedInstance
from store import (
    DesiredState,
    LifecycleStatus,
    ManagedInstance,
    OperationKind,
    OperationOutcome,
    utc_now,
)

STOP_DEADLINE_MINUTES = 10.0
"""How long one auto-stop waits for Novita to report the instance exited."""


class AutoStopFailedError(StopFailedError):
    """The stop of one idle instance was attempted and did not complete."""


class AutoStop:
    """The steps of stopping one idle instance, sharing the run's resources.

    `decided_at` is the sweep's clock when it decided: the re-check judges idleness on the
    same clock, so a use signal newer than that decision always wins.

    Example:
        ```python
        stopped_at = await AutoStop(res, idle, decided_at=now).run()
        ```

    """

    def __init__(self, res: FlowResources, idle: IdleInstance, decided_at: datetime) -> None:
        self.res = res
        self.idle = idle
        self.decided_at = decided_at
        self.instance_id = idle.instance_id
        self.label = f"{idle.name!r} ({idle.instance_id})" if idle.name else idle.instance_id
        self.logger = run_logger(__name__)
        self.target = InstanceTarget(instance_id=idle.instance_id, name=idle.name)
        self.journal = res.journal.operation(
            OperationKind.AUTO_STOP,
            self.instance_id,
            name=idle.name,
            managed=idle.managed,
            detail={
                "managed": idle.managed,
                "idle_minutes": idle.idle_minutes,
                "threshold_minutes": idle.threshold_minutes,
                "last_used_at": idle.last_used_at.isoformat(),
            },
        )

    async def run(self) -> datetime:
        """Re-check, claim, stop, wait for exited and record; returns when it stopped.

        Raises:
            InstanceSkippedError: the re-read shows it must be left alone (nothing was done).
            AutoStopFailedError: Novita refused the stop or it did not finish in time.

        """
        record = await self.recheck()
        await self.claim(record)
        await self.request_stop()
        deadline_at = time.monotonic() + STOP_DEADLINE_MINUTES * 60
        try:
            stopped_at = await wait_until_exited(self.res, self.journal, self.label, deadline_at)
        except StopFailedError as exc:
            raise AutoStopFailedError(str(exc)) from exc
        await self.finish(stopped_at)
        return stopped_at

    # -- re-check and claim ---------------------------------------------------------------

    async def recheck(self) -> ManagedInstance | None:
        """Read Novita's live status, our record and its use events again; decide again."""
        live = await read_live(self.res, self.instance_id)
        record = await self.res.store.get_instance(self.instance_id) if self.idle.managed else None
        since = self.decided_at - timedelta(minutes=self.idle.threshold_minutes)
        used = await newest_use_events(since, utc_now() + MARK_USED_CLOCK_SKEW, [self.instance_id])
        decision = recheck(self.idle, record, live, self.decided_at, used.get(self.instance_id))
        if isinstance(decision, SkippedInstance):
            raise InstanceSkippedError(decision.reason)
        self.target.live, self.target.record = live, record
        return record

    async def claim(self, record: ManagedInstance | None) -> None:
        """Move our status `ready → stopping` atomically and record the owner's new wish."""
        claim = await self.journal.claim(
            record,
            allowed={LifecycleStatus.READY},
            status=LifecycleStatus.STOPPING,
            desired=DesiredState.STOPPED,
        )
        if not claim.won:
            raise InstanceSkippedError(claim.why or "our status changed meanwhile")

    # -- stop -----------------------------------------------------------------------------

    async def request_stop(self) -> None:
        """Ask Novita to stop it; a stop that raced ours is not an error."""
        try:
            await ask_to_stop(self.res, self.instance_id, self.label)
        except NovitaError as exc:
            await self._give_up(f"Novita refused to stop {self.label}: {exc}", exc)

    async def _give_up(self, message: str, exc: Exception) -> NoReturn:
        """Nothing was stopped: put our status and the owner's wish back, record, raise."""
        await self.journal.record(
            OperationOutcome.FAILED,
            {"error": message},
            expect={LifecycleStatus.STOPPING},
            status=LifecycleStatus.READY,
            desired=DesiredState.RUNNING,
            otherwise=OperationOutcome.FAILED,
        )
        raise AutoStopFailedError(message) from exc

    async def finish(self, stopped_at: datetime) -> None:
        """Record `stopped`, the history entry, the owner's webhook and the humans' message."""
        idle = self.idle
        await self.journal.record(
            OperationOutcome.SUCCEEDED,
            {"stopped_at": stopped_at.isoformat()},
            status=LifecycleStatus.STOPPED,
            stopped_at=stopped_at,
        )
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
