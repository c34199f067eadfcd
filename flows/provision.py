"""The `provision-instance` flow: cheapest available product, region failover, ready, webhooks.

validate → adopt an instance of the same name → plan regions/products → resolve template (and
registry auth) → create, failing over to the next region on capacity → wait until running →
health-check → ready. Every step is recorded in the store and told to the owner's webhook.
"""

from __future__ import annotations

import time
from datetime import datetime
from decimal import Decimal
from typing import Any, Literal

from prefect import flow, get_run_logger
from prefect.artifacts import acreate_table_artifact
from pydantic import BaseModel, Field, SecretStr

from clients.endpoint_models import HealthReport
from clients.novita import (
    CreateInstanceRequest,
    Instance,
    NovitaCapacityError,
    NovitaError,
    NovitaRateLimitError,
    Template,
)
from clients.webhook_payload import WebhookEvent
from flows.flow_resources import FlowResources, open_flow_resources
from flows.human_notifications import notify_humans
from flows.instance_adoption import ExistingInstance, find_instance_named
from flows.instance_view import PortView, connection_details, port_views
from flows.provision_artifacts import (
    ProgressStep,
    ProvisionProgress,
    publish_failure_summary,
    publish_provision_summary,
)
from flows.provision_parameters import (
    DEFAULT_BILLING_MODE,
    DEFAULT_GPU_NUM,
    DEFAULT_ROOTFS_SIZE,
    AutoStopMinutes,
    BillingModeChoice,
    CredentialsBlock,
    DeadlineMinutes,
    DryRun,
    GpuNum,
    InstanceName,
    PoliciesBlock,
    PreferredRegion,
    ProductName,
    RegionPriority,
    RootfsSize,
    TemplateId,
    WaitUntilReady,
    WebhookSettingsBlock,
    WebhookUrl,
)
from flows.provision_plan import ProvisionPlan, RegionPlan, build_plan
from flows.readiness import NotReadyError, ReadinessPhase, bring_to_ready
from flows.region_order import UnknownRegionError
from store import DesiredState, LifecycleStatus, ManagedInstance, OperationKind, utc_now
from tasks.novita_actions import create_instance
from tasks.novita_instances import list_instances
from tasks.novita_templates import fetch_image_auth, fetch_template


class RegionAttempt(BaseModel):
    """One region tried at create time and what happened there."""

    region: str
    cluster_id: str
    outcome: Literal["created", "refused", "skipped"]
    reason: str | None = None


class ProvisionResult(BaseModel):
    """What `provision-instance` returns: the machine, its region, its price, how to reach it."""

    instance_id: str | None = None
    name: str
    status: str = Field(description="ready, running, creating (wait_until_ready=false) or planned")
    region: str | None = None
    cluster_id: str | None = None
    product_id: str | None = None
    product_name: str | None = None
    billing_mode: str | None = None
    price_per_hour: Decimal | None = Field(default=None, description="USD per hour, all GPUs")
    port_mappings: list[PortView] = Field(default_factory=list)
    connection_details: dict[str, str] = Field(default_factory=dict)
    created_at: datetime | None = None
    ready_at: datetime | None = None
    adopted: bool = Field(default=False, description="An existing instance of that name was used")
    regions_tried: list[RegionAttempt] = Field(default_factory=list)
    health_check: HealthReport | None = None
    plan: ProvisionPlan | None = None


class ProvisioningFailedError(RuntimeError):
    """Provisioning ended without a ready machine; the message says what happened where."""


def _failover_summary(product_name: str, billing_mode: str, attempts: list[RegionAttempt]) -> str:
    lines = "; ".join(f"{a.region}: {a.reason}" for a in attempts)
    return f"No region could provision {product_name} ({billing_mode}). {lines}"


class Provisioning:
    """The steps of one provisioning, sharing the run's resources and request."""

    def __init__(self, res: FlowResources, request: dict[str, Any]) -> None:
        self.res = res
        self.request = request
        self.name: str = request["name"]
        self.webhook_url: str | None = request["webhook_url"]
        self.logger = get_run_logger()
        self.attempts: list[RegionAttempt] = []
        minutes = request["deadline_minutes"] or res.policies.readiness_deadline_minutes
        self.deadline_at = time.monotonic() + minutes * 60
        self.instance_id: str | None = None
        self.progress = ProvisionProgress(self.name)

    async def run(self) -> ProvisionResult:
        """Adopt, plan only, or plan → template → create → ready."""
        existing = await find_instance_named(self.res, self.name)
        if self.request["dry_run"]:
            return await self.plan_only(existing)
        if existing is not None:
            return await self.adopt(existing)
        plan = await self.plan()
        await self.progress.step(ProgressStep.PLANNED)
        template, image_auth = await self.resolve_template()
        record = await self.create(plan, template, image_auth)
        await self.progress.step(ProgressStep.CREATED)
        return await self.finish(record, adopted=False)

    # -- planning -------------------------------------------------------------------------

    async def plan(self) -> ProvisionPlan:
        """Build the plan and note the regions it skips."""
        req = self.request
        plan = await build_plan(
            self.res.client,
            req["product_name"],
            req["billing_mode"],
            req["gpu_num"],
            req["rootfs_size"],
            req["region"],
            req["regions"] or self.res.policies.region_priority,
        )
        for region in plan.regions:
            if region.chosen is None:
                self.logger.info("Region %s skipped: %s", region.region, region.skipped_because)
                self.attempts.append(
                    RegionAttempt(
                        region=region.region,
                        cluster_id=region.cluster_id,
                        outcome="skipped",
                        reason=region.skipped_because,
                    )
                )
        return plan

    async def plan_only(self, existing: ExistingInstance | None) -> ProvisionResult:
        """Dry run: publish the plan as a table artifact and return it; no create call."""
        plan = await self.plan()
        choice = plan.choice
        await acreate_table_artifact(
            table=plan.table_rows(),
            key="provision-plan",
            description=f"Provisioning plan for {self.name}: {plan.product_name} "
            f"({plan.billing_mode}), regions in the order they would be tried.",
        )
        if choice is not None and choice.chosen is not None:
            self.logger.info(
                "Dry run: would create %s in %s at $%s/h",
                choice.chosen.product_id,
                choice.region,
                choice.chosen.price_per_hour,
            )
        else:
            self.logger.warning("Dry run: no region offers %s", plan.product_name)
        return ProvisionResult(
            instance_id=existing.instance_id if existing else None,
            name=self.name,
            status="planned",
            region=choice.region if choice else None,
            cluster_id=choice.cluster_id if choice else None,
            product_id=choice.chosen.product_id if choice and choice.chosen else None,
            product_name=plan.product_name,
            billing_mode=plan.billing_mode,
            price_per_hour=self._total_price(choice),
            adopted=existing is not None,
            regions_tried=self.attempts,
            plan=plan,
        )

    def _total_price(self, region: RegionPlan | None) -> Decimal | None:
        if region is None or region.chosen is None or region.chosen.price_per_hour is None:
            return None
        return region.chosen.price_per_hour * self.request["gpu_num"]

    # -- template -------------------------------------------------------------------------

    async def resolve_template(self) -> tuple[Template, SecretStr | None]:
        """Read the template and, for a private image, its registry credential."""
        template = await fetch_template(self.res.client, self.request["template_id"])
        image_auth = None
        if template.image_auth_id:
            image_auth = await fetch_image_auth(self.res.client, template.image_auth_id)
            self.logger.info(
                "Template %s uses a private image: registry auth resolved", template.id
            )
        return template, image_auth

    # -- create with failover -------------------------------------------------------------

    async def create(
        self, plan: ProvisionPlan, template: Template, image_auth: SecretStr | None
    ) -> ManagedInstance:
        """Create in the first usable region; a capacity refusal moves on to the next."""
        req = self.request
        for region in plan.usable:
            chosen = region.chosen
            assert chosen is not None  # usable regions have a choice
            create_request = CreateInstanceRequest(
                name=self.name,
                product_id=chosen.product_id,
                gpu_num=req["gpu_num"],
                rootfs_size=req["rootfs_size"],
                image_url=template.image,
                cluster_id=region.cluster_id,
                billing_mode=req["billing_mode"],
                ports=template.ports_spec() or None,
                envs=template.envs,
                command=template.start_command or None,
                image_auth=image_auth,
            )
            self.logger.info(
                "Creating %s in %s: %s at $%s/GPU-h",
                self.name,
                region.region,
                chosen.product_id,
                chosen.price_per_hour,
            )
            try:
                instance_id = await create_instance(self.res.client, create_request)
            except (NovitaCapacityError, NovitaRateLimitError) as exc:
                reason = (
                    f"create refused: {exc.api_message or exc} ({exc.reason or exc.status_code})"
                )
                self.logger.warning("Region %s: %s; trying the next region", region.region, reason)
                self.attempts.append(
                    RegionAttempt(
                        region=region.region,
                        cluster_id=region.cluster_id,
                        outcome="refused",
                        reason=reason,
                    )
                )
                continue
            except NovitaError as exc:
                if exc.maybe_processed:
                    adopted = await self._find_created(region)
                    if adopted is not None:
                        instance_id = adopted
                    else:
                        raise
                else:
                    raise
            self.attempts.append(
                RegionAttempt(region=region.region, cluster_id=region.cluster_id, outcome="created")
            )
            return await self.record_created(instance_id, region)
        raise ProvisioningFailedError(
            _failover_summary(req["product_name"], req["billing_mode"], self.attempts)
        )

    async def _find_created(self, region: RegionPlan) -> str | None:
        """After an ambiguous create error, look the name up rather than risk a duplicate."""
        for instance in await list_instances(self.res.client, name=self.name):
            if instance.name == self.name and instance.cluster_id == region.cluster_id:
                self.logger.info("The ambiguous create did happen: adopting %s", instance.id)
                return instance.id
        return None

    async def record_created(self, instance_id: str, region: RegionPlan) -> ManagedInstance:
        """Hook: record the instance `create` just made (a new managed record, by default).

        A recreate-migration (`flows/instance_recreate.py`) overrides it to move the existing
        record to the new id instead of inserting a second record with the same name.
        """
        req = self.request
        chosen = region.chosen
        assert chosen is not None
        self.instance_id = instance_id
        record = await self.res.store.upsert_instance(
            instance_id=instance_id,
            name=self.name,
            request=self._request_for_store(),
            cluster_id=region.cluster_id,
            region=region.region,
            product_id=chosen.product_id,
            product_name=chosen.name,
            billing_mode=req["billing_mode"],
            price_per_hour=self._total_price(region),
            desired_state=DesiredState.RUNNING,
            status=LifecycleStatus.CREATING,
            status_reason=None,
            webhook_url=self.webhook_url,
            auto_stop_minutes=req["auto_stop_minutes"],
            created_at=utc_now(),
        )
        await self.res.store.record_operation(
            instance_id,
            OperationKind.PROVISION,
            "started",
            flow_run_id=self.res.flow_run_id,
            detail={"regions": [a.model_dump() for a in self.attempts]},
        )
        await self.res.webhooks.notify(
            self.webhook_url,
            WebhookEvent.CREATED,
            "creating",
            instance_id,
            self._event_data(record),
        )
        return record

    def _request_for_store(self) -> dict[str, Any]:
        keys = ("product_name", "template_id", "gpu_num", "rootfs_size", "billing_mode")
        stored = {k: self.request[k] for k in keys}
        stored["region"] = self.request["region"]
        stored["regions"] = self.request["regions"]
        return stored

    # -- adoption -------------------------------------------------------------------------

    async def adopt(self, existing: ExistingInstance) -> ProvisionResult:
        """Take over an instance of the same name and bring it to ready."""
        self.instance_id = existing.instance_id
        self.logger.info(
            "An instance named %s already exists (%s): adopting it instead of creating another",
            self.name,
            existing.instance_id,
        )
        record = existing.record
        if record is None or record.instance_id != existing.instance_id:
            live = existing.live
            if record is not None:  # a failed record of an older instance gives way
                await self.res.store.set_status(record.instance_id, LifecycleStatus.DELETED)
            record = await self.res.store.upsert_instance(
                instance_id=existing.instance_id,
                name=self.name,
                request=self._request_for_store(),
                cluster_id=live.cluster_id if live else None,
                region=live.cluster_name if live else None,
                product_id=live.product_id if live else None,
                product_name=live.product_name if live else None,
                billing_mode=(live.billing_mode if live else None) or self.request["billing_mode"],
                desired_state=DesiredState.RUNNING,
                status=LifecycleStatus.CREATING,
                webhook_url=self.webhook_url,
                auto_stop_minutes=self.request["auto_stop_minutes"],
            )
        elif record.status == LifecycleStatus.FAILED:
            record = await self.res.store.set_status(record.instance_id, LifecycleStatus.CREATING)
        await self.res.store.record_operation(
            record.instance_id,
            OperationKind.PROVISION,
            "started",
            flow_run_id=self.res.flow_run_id,
            detail={"adopted": True},
        )
        return await self.finish(record, adopted=True)

    # -- readiness ------------------------------------------------------------------------

    async def finish(self, record: ManagedInstance, adopted: bool) -> ProvisionResult:
        """Wait until running and healthy (unless asked not to) and build the result."""
        instance_id = record.instance_id
        if not self.request["wait_until_ready"]:
            return self._result(record, None, None, adopted)
        if record.status == LifecycleStatus.READY:
            instance = await self.res.client.get_instance(instance_id)
            return self._result(record, instance, None, adopted)

        async def on_phase(
            phase: ReadinessPhase, instance: Instance, health: HealthReport | None
        ) -> None:
            await self.progress.phase(phase)
            data = self._event_data(record) | {
                "portMappings": [p.model_dump() for p in port_views(instance)],
                "connectionDetails": connection_details(instance),
            }
            if health is not None:
                data["healthCheck"] = health.model_dump(mode="json")
            events = {
                ReadinessPhase.RUNNING: WebhookEvent.RUNNING,
                ReadinessPhase.HEALTH_CHECKING: WebhookEvent.HEALTH_CHECKING,
                ReadinessPhase.READY: WebhookEvent.READY,
            }
            await self.res.webhooks.notify(
                self.webhook_url, events[phase], str(phase), instance_id, data
            )

        ready = await bring_to_ready(self.res, instance_id, self.deadline_at, on_phase)
        await self.res.store.record_operation(
            instance_id,
            OperationKind.PROVISION,
            "succeeded",
            flow_run_id=self.res.flow_run_id,
            detail={"regions": [a.model_dump() for a in self.attempts], "adopted": adopted},
        )
        record = await self.res.store.get_instance(instance_id) or record
        result = self._result(record, ready.instance, ready.health, adopted)
        await publish_provision_summary(result)
        return result

    def _result(
        self,
        record: ManagedInstance,
        instance: Instance | None,
        health: HealthReport | None,
        adopted: bool,
    ) -> ProvisionResult:
        return ProvisionResult(
            instance_id=record.instance_id,
            name=record.name,
            status=str(record.status),
            region=record.region,
            cluster_id=record.cluster_id,
            product_id=record.product_id,
            product_name=record.product_name,
            billing_mode=record.billing_mode,
            price_per_hour=record.price_per_hour,
            port_mappings=port_views(instance) if instance else [],
            connection_details=connection_details(instance) if instance else {},
            created_at=record.created_at,
            ready_at=record.ready_at,
            adopted=adopted,
            regions_tried=self.attempts,
            health_check=health,
        )

    def _event_data(self, record: ManagedInstance) -> dict[str, Any]:
        return {
            "name": record.name,
            "region": record.region,
            "clusterId": record.cluster_id,
            "product": record.product_name,
            "productId": record.product_id,
            "billingMode": record.billing_mode,
            "pricePerHour": record.price_per_hour,
        }

    # -- failure --------------------------------------------------------------------------

    async def fail(self, message: str, code: str) -> None:
        """Record the failure, tell the owner, and leave the flow to end Failed."""
        self.logger.error("Provisioning %s failed: %s", self.name, message)
        await publish_failure_summary(
            self.progress, self.request, message, self.attempts, self.instance_id
        )
        if self.instance_id:
            await self.res.store.set_status(
                self.instance_id, LifecycleStatus.FAILED, reason=message
            )
        await self.res.store.record_operation(
            self.instance_id or "",
            OperationKind.PROVISION,
            "failed",
            flow_run_id=self.res.flow_run_id,
            detail={"error": message, "regions": [a.model_dump() for a in self.attempts]},
            name=self.name,
        )
        await notify_humans(
            self.res.policies,
            f"Novita: provisioning {self.name} failed",
            f"Provisioning {self.name} ({self.request['product_name']}) failed: {message}",
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


@flow(name="provision-instance", persist_result=True)
async def provision_instance(
    name: InstanceName,
    product_name: ProductName,
    template_id: TemplateId,
    gpu_num: GpuNum = DEFAULT_GPU_NUM,
    rootfs_size: RootfsSize = DEFAULT_ROOTFS_SIZE,
    region: PreferredRegion = None,
    regions: RegionPriority = None,
    billing_mode: BillingModeChoice = DEFAULT_BILLING_MODE,
    webhook_url: WebhookUrl = None,
    auto_stop_minutes: AutoStopMinutes = None,
    wait_until_ready: WaitUntilReady = True,
    deadline_minutes: DeadlineMinutes = None,
    dry_run: DryRun = False,
    credentials_block: CredentialsBlock = None,
    webhook_settings_block: WebhookSettingsBlock = None,
    policies_block: PoliciesBlock = None,
) -> ProvisionResult:
    """Provision a GPU machine that really serves, at the lowest available price.

    Args:
        name: Instance name, 1-100 letters, digits, '-' or '_'. An existing instance with this
            name is adopted, never duplicated.
        product_name: GPU product exactly as Novita names it, e.g. "RTX 4090 24GB".
        template_id: Novita template id (image, ports, envs, start command).
        gpu_num: Number of GPUs, 1-8.
        rootfs_size: Root disk in GB, within the product's limits.
        region: Preferred region (name like US-CA-06 or id like us-ca-6), tried first.
        regions: Custom region priority; replaces the default order.
        billing_mode: "spot" (default) or "onDemand".
        webhook_url: http(s) URL told about every step, signed when a secret is set.
        auto_stop_minutes: Idle minutes before auto-stop; 0 = never; empty = the policy.
        wait_until_ready: Wait for running and healthy endpoints before returning.
        deadline_minutes: Fail when not ready by then (default: the policies' deadline, 10).
        dry_run: Only plan: no create call; returns and publishes the plan.
        credentials_block: Saved NovitaCredentials block (default: "default", else env).
        webhook_settings_block: Saved WebhookSettings block (default: "default", else env).
        policies_block: Saved NovitaPolicies block (default: "default", else built-ins).

    Example:
        ```python
        import asyncio
        from flows.provision import provision_instance

        result = asyncio.run(provision_instance(
            name="trainer-1", product_name="RTX 4090 24GB", template_id="1001",
        ))
        print(result.instance_id, result.region, result.price_per_hour)
        ```

    """
    request: dict[str, Any] = {
        "name": name,
        "product_name": product_name,
        "template_id": template_id,
        "gpu_num": gpu_num,
        "rootfs_size": rootfs_size,
        "region": region,
        "regions": regions,
        "billing_mode": billing_mode,
        "webhook_url": str(webhook_url) if webhook_url else None,
        "auto_stop_minutes": auto_stop_minutes,
        "wait_until_ready": wait_until_ready,
        "deadline_minutes": deadline_minutes,
        "dry_run": dry_run,
    }
    async with open_flow_resources(
        credentials_block, webhook_settings_block, policies_block
    ) as res:
        provisioning = Provisioning(res, request)
        try:
            return await provisioning.run()
        except ProvisioningFailedError as exc:
            await provisioning.fail(str(exc), "NO_REGION_AVAILABLE")
            raise
        except UnknownRegionError as exc:
            await provisioning.fail(str(exc), "UNKNOWN_REGION")
            raise
        except NotReadyError as exc:
            await provisioning.fail(str(exc), f"NOT_READY_{exc.phase.upper()}")
            raise ProvisioningFailedError(str(exc)) from exc
        except NovitaError as exc:
            await provisioning.fail(str(exc), exc.reason or type(exc).__name__)
            raise ProvisioningFailedError(str(exc)) from exc
