"""The `provision-instance` flow: cheapest available product, region failover, ready, webhooks.

validate → adopt an instance of the same name → plan regions/products → resolve template (and
registry auth) → create, failing over to the next region on capacity → wait until running →
health-check → ready. Every step is written to the journal and told to the owner's webhook;
the steps live in `flows/provisioning/`. With a `max_fleet_price_per_hour` policy, a machine
that would push the running fleet above it is refused before any create call
(`flows/provisioning/rules/budget.py`).
"""

# No `from __future__ import annotations` in flow modules: a served flow's parameter types
# must resolve in the process that runs it (see flows/common/parameters.py).

import asyncio

from prefect import flow

from clients.novita import NovitaError
from flows.common.parameters import (
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
    WebhookBlock,
    WebhookSettingsBlock,
    WebhookUrl,
)
from flows.common.resources import open_flow_resources
from flows.provisioning.creation import ProvisioningFailedError, RegionAttempt
from flows.provisioning.provisioning import Provisioning
from flows.provisioning.readiness import NotReadyError
from flows.provisioning.request import ProvisionRequest
from flows.provisioning.result import ProvisionResult
from flows.provisioning.rules.region_order import UnknownRegionError

DEADLINE_SLACK_SECONDS = 5.0
"""The readiness waits end on the deadline themselves; the flow's own timeout fires after."""

__all__ = [
    "ProvisionRequest",
    "ProvisionResult",
    "ProvisioningFailedError",
    "RegionAttempt",
    "provision_instance",
    "run_provisioning",
]


async def run_provisioning(
    request: ProvisionRequest,
    dry_run: bool = False,
    credentials_block: str | None = None,
    webhook_settings_block: str | None = None,
    policies_block: str | None = None,
) -> ProvisionResult:
    """Provision one machine inside the current flow run; failures are recorded and told.

    Raises:
        ProvisioningFailedError: no ready machine (the regions tried are in `attempts`).
        UnknownRegionError: a region named in the request is not known.

    Example:
        ```python
        result = await run_provisioning(ProvisionRequest(name="a", product_name="RTX 4090 24GB",
                                                         template_id="1001"))
        ```

    """
    async with open_flow_resources(
        credentials_block, webhook_settings_block, policies_block
    ) as res:
        provisioning = Provisioning(res, request, dry_run)
        try:
            # The deadline covers the whole provisioning, planning included; the waits end
            # a little before it on their own, this is the backstop for anything slower.
            async with asyncio.timeout_at(provisioning.deadline_at + DEADLINE_SLACK_SECONDS):
                return await provisioning.run()
        except TimeoutError as exc:
            seconds = provisioning.deadline_at - provisioning.started_at
            span = f"{seconds:.0f} s" if seconds < 120 else f"{seconds / 60:.0f} min"
            error = ProvisioningFailedError(
                f"{request.name} was not ready within its deadline ({span})",
                provisioning.attempts,
                "DEADLINE",
            )
            await provisioning.failure(error)
            raise error from exc
        except (ProvisioningFailedError, UnknownRegionError, NotReadyError, NovitaError) as exc:
            error = await provisioning.failure(exc)
            if error is exc:
                raise
            raise error from exc


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
    webhook_block: WebhookBlock = None,
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
        webhook_url: http(s) URL told about every step, signed when a secret is set. A token
            in it is kept in a Prefect Secret block, never in the store; give it as
            `SecretStr` from Python so Prefect masks it in the run's parameters too.
        webhook_block: Or the name of a saved Prefect `Secret` block holding the URL (the
            way to pass a token-bearing URL from the UI or the CLI).
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
    request = ProvisionRequest(
        name=name,
        product_name=product_name,
        template_id=template_id,
        gpu_num=gpu_num,
        rootfs_size=rootfs_size,
        region=region,
        regions=regions,
        billing_mode=billing_mode,
        webhook_url=webhook_url,
        webhook_block=webhook_block,
        auto_stop_minutes=auto_stop_minutes,
        wait_until_ready=wait_until_ready,
        deadline_minutes=deadline_minutes,
    )
    return await run_provisioning(
        request, dry_run, credentials_block, webhook_settings_block, policies_block
    )
