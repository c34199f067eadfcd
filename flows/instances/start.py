"""Start a stopped instance and bring it back to ready, telling the owner at every step.

check (`flows/instances/rules.py`) → claim (atomic `stopped|exited|failed → starting`) →
start → `instance.startup_initiated` → wait for running / health-check, each phase sent as
`instance.startup_progress` → ready and `instance.startup_completed`, or
`instance.startup_failed` with the phase and the error. A start refused for capacity puts
the status back and reports it: the instance is never deleted for it.
"""

from __future__ import annotations

import time
from datetime import datetime
from typing import Any, NoReturn

from pydantic import BaseModel, Field

from clients.endpoint_models import HealthReport
from clients.novita import Instance, NovitaCapacityError, NovitaError
from clients.webhook_payload import WebhookEvent
from flows.common.resources import FlowResources
from flows.common.run_logger import run_logger
from flows.instances.errors import OperationRefusedError, StartFailedError
from flows.instances.lookup import InstanceTarget
from flows.instances.rules import (
    START_BLOCKED_BY,
    STARTABLE,
    record_lags_behind_exit,
    start_refusal,
)
from flows.instances.view import PortView, connection_details, port_views
from flows.provisioning.readiness import NotReadyError, ReadinessPhase, bring_to_ready
from store import DesiredState, LifecycleStatus, OperationKind, OperationOutcome, utc_now
from store.statuses import SERVING
from tasks.novita_actions import start_instance

START_REQUEST_PHASE = "start_request"


class StartResult(BaseModel):
    """What `start-instance` returns."""

    instance_id: str
    name: str | None = None
    managed: bool = Field(description="False: Novita knows the instance, the store does not")
    status: str = Field(description="ready, or starting when wait_until_ready=false")
    previous_status: str | None = Field(
        default=None, description="Our lifecycle status before the start (None if unmanaged)"
    )
    ready_at: datetime | None = None
    port_mappings: list[PortView] = Field(default_factory=list)
    connection_details: dict[str, str] = Field(default_factory=dict)
    health_check: HealthReport | None = None
    message: str


class Startup:
    """The steps of one start, sharing the run's resources and the target instance."""

    def __init__(
        self,
        res: FlowResources,
        target: InstanceTarget,
        wait_until_ready: bool,
        deadline_minutes: float,
    ) -> None:
        self.res = res
        self.target = target
        self.instance_id = target.instance_id
        self.managed = target.managed
        self.wait_until_ready = wait_until_ready
        self.deadline_at = time.monotonic() + deadline_minutes * 60
        self.started_at = utc_now()
        self.record = target.record if self.managed else None
        self.previous: LifecycleStatus | None = self.record.status if self.record else None
        self.logger = run_logger(__name__)
        self.journal = res.journal.operation(
            OperationKind.START,
            self.instance_id,
            name=target.name,
            managed=self.managed,
            detail={"managed": self.managed},
        )

    async def run(self) -> StartResult:
        """Check → claim → start → (wait until ready) → result."""
        await self.check_startable()
        await self.claim()
        await self.request_start()
        if not self.wait_until_ready:
            self.logger.info("Start of %s accepted; not waiting for ready", self.target.label)
            await self.journal.record(OperationOutcome.SUCCEEDED, {"waited_until_ready": False})
            return self._result("starting", "Start accepted; not waiting until ready")
        return await self.bring_up()

    # -- checks and claim -----------------------------------------------------------------

    async def check_startable(self) -> None:
        """Refuse unless Novita reports the instance exited and our status allows a start."""
        target = self.target
        refusal = start_refusal(target.label, target.record, self.managed, target.live)
        if refusal is not None:
            await self.refuse(refusal)
        if not self.managed or self.record is None:
            self.logger.info("%s is not managed: starting it on Novita only", target.label)
            return
        if record_lags_behind_exit(self.record, target.live):
            # Novita is the truth: the machine exited (stopped or reclaimed) behind our back.
            done = await self.res.journal.record_status(
                self.instance_id,
                LifecycleStatus.EXITED,
                reason="Novita reports the instance exited",
                expect={self.record.status},
            )
            if done.applied and done.record is not None:
                self.logger.info(
                    "Our record said %s but Novita reports exited: status set to exited",
                    self.record.status,
                )
                self.record, self.previous = done.record, LifecycleStatus.EXITED

    async def claim(self) -> None:
        """Atomically move our status to `starting`; of two concurrent starts only one wins."""
        claim = await self.journal.claim(
            self.record,
            allowed=STARTABLE,
            status=LifecycleStatus.STARTING,
            detail={"previous_status": str(self.previous)} if self.managed else None,
        )
        if claim.won:
            if self.managed:
                self.logger.info(
                    "Claimed %s for start: %s → starting", self.target.label, self.previous
                )
            return
        current = await self.res.store.get_instance(self.instance_id)
        status = current.status if current else None
        why = (START_BLOCKED_BY.get(status) if status else None) or f"its status is now {status}"
        await self.refuse(f"Start of {self.target.label} refused: {why} (our status {status})")

    async def refuse(self, message: str) -> NoReturn:
        """Record the refusal in the history and end the run Failed; nothing was changed."""
        self.logger.warning("Start refused: %s", message)
        await self.journal.record(OperationOutcome.SKIPPED, {"refused": message})
        raise OperationRefusedError(message)

    # -- start ----------------------------------------------------------------------------

    async def request_start(self) -> None:
        """Ask Novita to start; on refusal put our status back, report, and fail the run."""
        try:
            accepted = await start_instance(self.res.client, self.instance_id)
        except NovitaError as exc:
            code = exc.reason or type(exc).__name__
            if isinstance(exc, NovitaCapacityError):
                message = (
                    f"Novita has no capacity to start {self.target.label} now ({exc}). "
                    "The instance is kept as it was (never deleted for this); "
                    "start it again later or migrate it"
                )
            else:
                message = f"Novita refused to start {self.target.label}: {exc}"
            # Give the claim back: status as before the start, with the reason.
            await self.fail(
                message,
                code,
                START_REQUEST_PHASE,
                expect={LifecycleStatus.STARTING},
                status=self.previous,
            )
            raise StartFailedError(message, code, START_REQUEST_PHASE) from exc
        self.logger.info(
            "Novita accepted the start of %s (%s)",
            self.target.label,
            accepted.state or accepted.outcome,
        )
        await self.journal.record(None, desired=DesiredState.RUNNING)
        await self._notify(
            WebhookEvent.STARTUP_INITIATED,
            LifecycleStatus.STARTING,
            self._operation("initiated") | {"novitaState": accepted.state},
        )

    # -- readiness ------------------------------------------------------------------------

    async def bring_up(self) -> StartResult:
        """Wait until running and healthy; report each phase, then completion or failure."""

        async def on_phase(
            phase: ReadinessPhase, instance: Instance, health: HealthReport | None
        ) -> None:
            if phase == ReadinessPhase.READY:
                return  # startup_completed follows, with the history already written
            await self._notify(
                WebhookEvent.STARTUP_PROGRESS,
                str(phase),
                self._operation(str(phase)) | self._connection(instance),
            )

        # Not from `deleted`: a delete that ran meanwhile keeps the last word.
        failed = {"expect": {LifecycleStatus.STARTING, *SERVING}, "status": LifecycleStatus.FAILED}
        try:
            ready = await bring_to_ready(
                self.res,
                self.instance_id,
                self.deadline_at,
                on_phase,
                record_in_store=self.managed,
            )
        except NotReadyError as exc:
            code = f"NOT_READY_{exc.phase.upper()}"
            await self.fail(str(exc), code, str(exc.phase), exc.health, **failed)
            raise StartFailedError(str(exc), code, str(exc.phase)) from exc
        except NovitaError as exc:
            # Polling gave up (API down past every retry): the start cannot be followed.
            message = f"Lost track of the start of {self.target.label}: {exc}"
            code = exc.reason or type(exc).__name__
            phase = str(ReadinessPhase.WAITING_FOR_RUNNING)
            await self.fail(message, code, phase, **failed)
            raise StartFailedError(message, code, phase) from exc
        elapsed = (utc_now() - self.started_at).total_seconds()
        done = await self.journal.record(
            OperationOutcome.SUCCEEDED, {"ready_after_s": round(elapsed, 1)}
        )
        await self._notify(
            WebhookEvent.STARTUP_COMPLETED,
            LifecycleStatus.READY,
            self._operation("ready")
            | self._connection(ready.instance)
            | {"healthCheck": ready.health.model_dump(mode="json")},
        )
        record = done.record if self.managed else None
        return self._result(
            "ready",
            f"Started and ready after {elapsed:.1f} s",
            ready_at=record.ready_at if record else utc_now(),
            instance=ready.instance,
            health=ready.health,
        )

    # -- failure --------------------------------------------------------------------------

    async def fail(
        self,
        message: str,
        code: str,
        phase: str,
        health: HealthReport | None = None,
        *,
        expect: set[LifecycleStatus],
        status: LifecycleStatus | None,
    ) -> None:
        """Record the failure with the status it leaves, send `instance.startup_failed`."""
        self.logger.error("Start of %s failed at %s: %s", self.target.label, phase, message)
        done = await self.journal.record(
            OperationOutcome.FAILED,
            {"error": message, "code": code, "phase": phase},
            expect=expect if status is not None else None,
            status=status,
            reason=message,
            otherwise=OperationOutcome.FAILED,
        )
        data = self._operation(phase) | {"error": {"code": code, "message": message}}
        if health is not None:
            data["healthCheck"] = health.model_dump(mode="json")
        current = done.record if self.managed else None
        await self._notify(
            WebhookEvent.STARTUP_FAILED,
            str(current.status) if current else LifecycleStatus.FAILED,
            data,
        )

    # -- helpers --------------------------------------------------------------------------

    def _operation(self, phase: str) -> dict[str, Any]:
        return {
            "startupOperation": {
                "phase": phase,
                "previousStatus": str(self.previous) if self.previous else None,
                "startedAt": self.started_at,
                "flowRunId": self.res.flow_run_id,
            }
        }

    @staticmethod
    def _connection(instance: Instance) -> dict[str, Any]:
        return {
            "portMappings": [p.model_dump() for p in port_views(instance)],
            "connectionDetails": connection_details(instance),
        }

    async def _notify(self, event: WebhookEvent, status: str, data: dict[str, Any]) -> None:
        await self.res.webhooks.notify(
            self.target.webhook_url,
            event,
            str(status),
            self.instance_id,
            self.target.event_data() | data,
        )

    def _result(
        self,
        status: str,
        message: str,
        *,
        ready_at: datetime | None = None,
        instance: Instance | None = None,
        health: HealthReport | None = None,
    ) -> StartResult:
        return StartResult(
            instance_id=self.instance_id,
            name=self.target.name,
            managed=self.managed,
            status=status,
            previous_status=str(self.previous) if self.previous else None,
            ready_at=ready_at,
            port_mappings=port_views(instance) if instance else [],
            connection_details=connection_details(instance) if instance else {},
            health_check=health,
            message=message,
        )
