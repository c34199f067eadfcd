"""One provisioning, step by step: adopt or plan → template → create (failover) → ready.

Each step is a function of its own module (`adoption`, `planning`, `creation`,
`readiness`); this class composes them for `provision-instance`, writes each step to the
journal and tells the owner's webhook and the progress artifact. A recreate-migration
composes the same steps differently (`flows/sweeps/migration/recreate.py`).
"""

from __future__ import annotations

import time
from datetime import timedelta
from typing import Any

from clients.endpoint_models import HealthReport
from clients.novita import Instance, InstanceStatus, NovitaError
from clients.webhook_payload import WebhookEvent
from flows.common.journal import OperationJournal
from flows.common.notifications import notify_humans
from flows.common.resources import FlowResources
from flows.common.run_logger import run_logger
from flows.instances.lookup import read_live
from flows.instances.view import connection_details, port_views, record_event_data
from flows.provisioning.adoption import ExistingInstance, find_instance_named
from flows.provisioning.artifacts import (
    ProgressStep,
    ProvisionProgress,
    publish_failure_summary,
    publish_provision_summary,
)
from flows.provisioning.creation import (
    ProvisioningFailedError,
    RegionAttempt,
    create_with_failover,
)
from flows.provisioning.dry_run import plan_only
from flows.provisioning.name_claim import NameClaim
from flows.provisioning.planning import RegionPlanner
from flows.provisioning.readiness import NotReadyError, ReadinessPhase, bring_to_ready
from flows.provisioning.request import ProvisionRequest
from flows.provisioning.result import ProvisionResult
from flows.provisioning.rules.region_order import UnknownRegionError
from flows.provisioning.shared import ProvisioningShared
from store import (
    DesiredState,
    LifecycleStatus,
    ManagedInstance,
    OperationKind,
    OperationOutcome,
    utc_now,
)
from tasks.novita_actions import start_instance
from tasks.novita_instances import get_instance

PHASE_EVENTS = {
    ReadinessPhase.RUNNING: WebhookEvent.RUNNING,
    ReadinessPhase.HEALTH_CHECKING: WebhookEvent.HEALTH_CHECKING,
    ReadinessPhase.READY: WebhookEvent.READY,
}


class Provisioning:
    """The steps of one provisioning, sharing the run's resources and request.

    Example:
        ```python
        result = await Provisioning(res, request, dry_run=False).run()
        ```

    """

    def __init__(
        self,
        res: FlowResources,
        request: ProvisionRequest,
        dry_run: bool = False,
        shared: ProvisioningShared | None = None,
        *,
        artifacts: bool = True,
    ) -> None:
        self.res = res
        self.request = request
        self.dry_run = dry_run
        self.shared = shared or ProvisioningShared(res)
        self.artifacts = artifacts
        """False in a fleet: the fleet shows one progress bar and one table for all."""
        self.name = request.name
        self.webhook_url: str | None = None
        """The owner's webhook in its stored form, once `run`/`start` resolved it."""
        self.logger = run_logger(__name__)
        self.attempts: list[RegionAttempt] = []
        minutes = request.deadline_minutes or res.policies.readiness_deadline_minutes
        self.started_at = time.monotonic()
        self.deadline_at = self.started_at + minutes * 60
        self.instance_id: str | None = None
        self.progress = ProvisionProgress(self.name, publish=artifacts)

    def journal(self) -> OperationJournal:
        """The journal of this provisioning (on its instance once there is one)."""
        return self.res.journal.operation(
            OperationKind.PROVISION, self.instance_id or "", name=self.name
        )

    async def run(self) -> ProvisionResult:
        """Adopt, plan only, or plan → template → create → ready (one rental per name)."""
        if self.dry_run:
            return await plan_only(self, await find_instance_named(self.res, self.name))
        self.webhook_url = await self.shared.webhook(self.request)
        await self.shared.planner(self.request)  # an unknown region fails before any lookup
        claim = self.name_claim()
        await claim.take(self.deadline_at)
        try:
            existing = await find_instance_named(self.res, self.name)
            record, adopted = await self.start(existing)
        finally:
            await claim.release()
        return await self.finish(record, adopted)

    def name_claim(self) -> NameClaim:
        """The claim this provisioning holds on its name while it looks up and creates."""
        lease = timedelta(seconds=max(self.deadline_at - time.monotonic(), 60.0))
        return NameClaim(self.res, self.name, lease)

    async def start(self, existing: ExistingInstance | None) -> tuple[ManagedInstance, bool]:
        """Adopt the instance of that name, or plan and create one; True when adopted."""
        self.webhook_url = await self.shared.webhook(self.request)
        if existing is not None:
            return await self.adopt(existing), True
        planner = await self.shared.planner(self.request)
        await self.progress.step(ProgressStep.PLANNED)
        record = await self.create(planner)
        await self.progress.step(ProgressStep.CREATED)
        return record, False

    # -- create ---------------------------------------------------------------------------

    async def create(self, planner: RegionPlanner) -> ManagedInstance:
        """Resolve the template, create with failover, record the new managed instance."""
        template, image_auth = await self.shared.template(self.request.template_id)
        created, region = await create_with_failover(
            self.res.client,
            planner,
            self.request,
            template,
            image_auth,
            self.attempts,
            budget=await self.shared.budget(),
        )
        chosen = region.chosen
        assert chosen is not None  # create only uses regions with a chosen product
        self.instance_id = created.instance_id
        done = await self.journal().record(
            OperationOutcome.STARTED,
            {"regions": [a.model_dump() for a in self.attempts]},
            fields={
                "name": self.name,
                "request": self.request.for_store(),
                "cluster_id": region.cluster_id,
                "region": region.region,
                "product_id": chosen.product_id,
                "product_name": chosen.name,
                "billing_mode": self.request.billing_mode,
                "price_per_hour": region.total_price(self.request.gpu_num),
                "desired_state": DesiredState.RUNNING,
                "status": LifecycleStatus.CREATING,
                "status_reason": None,
                "webhook_url": self.webhook_url,
                "auto_stop_minutes": self.request.auto_stop_minutes,
                "created_at": utc_now(),
            },
        )
        assert done.record is not None
        await self.res.webhooks.notify(
            self.webhook_url,
            WebhookEvent.CREATED,
            "creating",
            created.instance_id,
            record_event_data(done.record),
        )
        return done.record

    # -- adoption -------------------------------------------------------------------------

    async def adopt(self, existing: ExistingInstance) -> ManagedInstance:
        """Take over an instance of the same name (the caller brings it to ready)."""
        self.instance_id = existing.instance_id
        self.logger.info(
            "An instance named %s already exists (%s): adopting it instead of creating another",
            self.name,
            existing.instance_id,
        )
        record, live = existing.record, existing.live
        fields: dict[str, Any] | None = None
        status = None
        if record is None or record.instance_id != existing.instance_id:
            if record is not None:  # a failed record of an older instance gives way
                await self.res.journal.record_status(record.instance_id, LifecycleStatus.DELETED)
            fields = {
                "name": self.name,
                "request": self.request.for_store(),
                "cluster_id": live.cluster_id if live else None,
                "region": live.cluster_name if live else None,
                "product_id": live.product_id if live else None,
                "product_name": live.product_name if live else None,
                "billing_mode": (live.billing_mode if live else None) or self.request.billing_mode,
                "desired_state": DesiredState.RUNNING,
                "status": LifecycleStatus.CREATING,
                "webhook_url": self.webhook_url,
                "auto_stop_minutes": self.request.auto_stop_minutes,
            }
        elif record.status == LifecycleStatus.FAILED:
            status = LifecycleStatus.CREATING
        live = live or await read_live(self.res, existing.instance_id)
        if live is not None and live.status == InstanceStatus.EXITED:
            # A provisioning asks for a running machine: a stopped one of that name is started.
            self.logger.info("The instance %s is stopped: starting it", existing.instance_id)
            await start_instance(self.res.client, existing.instance_id)
            status = LifecycleStatus.STARTING
        done = await self.journal().record(
            OperationOutcome.STARTED,
            {"adopted": True, "started": status == LifecycleStatus.STARTING},
            fields=fields,
            status=status,
            desired=DesiredState.RUNNING,
        )
        assert done.record is not None
        return done.record

    # -- readiness ------------------------------------------------------------------------

    async def finish(
        self, record: ManagedInstance, adopted: bool, running: Instance | None = None
    ) -> ProvisionResult:
        """Wait until running and healthy (unless asked not to) and build the result.

        `running`: Novita already reported it running (a fleet waits for all at once).
        """
        instance_id = record.instance_id
        if not self.request.wait_until_ready:
            return ProvisionResult.of(record, None, None, adopted, self.attempts)
        if record.status == LifecycleStatus.READY:
            instance = await get_instance(self.res.client, instance_id)
            return ProvisionResult.of(record, instance, None, adopted, self.attempts)

        async def on_phase(
            phase: ReadinessPhase, instance: Instance, health: HealthReport | None
        ) -> None:
            await self.progress.phase(phase)
            data = record_event_data(record) | {
                "portMappings": [p.model_dump() for p in port_views(instance)],
                "connectionDetails": connection_details(instance),
            }
            if health is not None:
                data["healthCheck"] = health.model_dump(mode="json")
            await self.res.webhooks.notify(
                self.webhook_url, PHASE_EVENTS[phase], str(phase), instance_id, data
            )

        ready = await bring_to_ready(
            self.res, instance_id, self.deadline_at, on_phase, running=running
        )
        done = await self.journal().record(
            OperationOutcome.SUCCEEDED,
            {"regions": [a.model_dump() for a in self.attempts], "adopted": adopted},
        )
        result = ProvisionResult.of(
            done.record or record, ready.instance, ready.health, adopted, self.attempts
        )
        if self.artifacts:
            await publish_provision_summary(result)
        return result

    # -- failure --------------------------------------------------------------------------

    async def failure(self, exc: Exception) -> Exception:
        """Record why the provisioning failed and return what to raise (a typed error).

        Example:
            ```python
            try:
                return await provisioning.run()
            except Exception as exc:
                raise await provisioning.failure(exc) from exc
            ```

        """
        if isinstance(exc, ProvisioningFailedError):
            await self.fail(str(exc), exc.code)
            return exc
        if isinstance(exc, UnknownRegionError):
            await self.fail(str(exc), "UNKNOWN_REGION")
            return exc
        if isinstance(exc, NotReadyError):
            code = f"NOT_READY_{exc.phase.upper()}"
        elif isinstance(exc, NovitaError):
            code = exc.reason or type(exc).__name__
        else:
            return exc  # a bug: not told to the owner as a provisioning outcome
        await self.fail(str(exc), code)
        return ProvisioningFailedError(str(exc), self.attempts, code)

    async def fail(self, message: str, code: str) -> None:
        """Record the failure, tell the owner and the humans; the flow then ends Failed."""
        self.logger.error("Provisioning %s failed: %s", self.name, message)
        if self.artifacts:
            await publish_failure_summary(
                self.progress, self.request, message, self.attempts, self.instance_id
            )
        await self.journal().record(
            OperationOutcome.FAILED,
            {"error": message, "regions": [a.model_dump() for a in self.attempts]},
            status=LifecycleStatus.FAILED if self.instance_id else None,
            reason=message,
        )
        await notify_humans(
            self.res.policies,
            f"Novita: provisioning {self.name} failed",
            f"Provisioning {self.name} ({self.request.product_name}) failed: {message}",
        )
        await self.res.webhooks.notify(
            self.webhook_url,
            WebhookEvent.FAILED,
            "failed",
            self.instance_id,
            {
                "name": self.name,
                "error": {"code": code, "message": message},
                "regionsTried": [a.model_dump() for a in self.attempts],
            },
        )
