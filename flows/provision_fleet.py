"""The `provision-fleet` flow: many provisionings at once, decided in bulk, bounded.

The fleet plans once (one catalogue read per kind of machine, one read per template), looks
every name up at once (one store query, one Novita list), creates `concurrency` at a time
within the Novita rate limit, waits for the whole fleet with ONE paginated list poll, then
health-checks each machine; the steps are `flows/provisioning/fleet.py`. A machine costs two
task runs (`create-<name>`, `probe-<name>`). A request that fails is caught into its own item
of the result: one failure never sinks the others. The run ends Completed when at least one
request succeeded (the failures are listed in the result and in the `provision-fleet` table
artifact) and Failed, naming every request and its reason, when all of them failed.
"""

# No `from __future__ import annotations` in flow modules: a served flow's parameter types
# must resolve in the process that runs it (see flows/common/parameters.py).

from collections import Counter
from typing import Annotated

from prefect import flow, get_run_logger
from pydantic import AfterValidator, Field

from flows.common.parameters import (
    CredentialsBlock,
    DryRun,
    FleetConcurrency,
    PoliciesBlock,
    WebhookSettingsBlock,
)
from flows.common.resources import open_flow_resources
from flows.provisioning.fleet import FleetItem, FleetProvisioning, FleetResult
from flows.provisioning.request import ProvisionRequest

__all__ = [
    "FleetItem",
    "FleetProvisioningFailedError",
    "FleetRequest",
    "FleetResult",
    "provision_fleet",
]

MAX_FLEET_SIZE = 500
"""Requests per fleet run."""

FleetRequest = ProvisionRequest
"""One machine of the fleet: a `ProvisionRequest` (the parameters of `provision-instance`)."""


def _names_are_unique(requests: list[ProvisionRequest]) -> list[ProvisionRequest]:
    # Two requests with one name would adopt each other's machine: refuse before any call.
    counts = Counter(r.name for r in requests)
    duplicates = sorted(name for name, count in counts.items() if count > 1)
    if duplicates:
        raise ValueError(f"instance names must be unique within a fleet; repeated: {duplicates}")
    return requests


FleetRequests = Annotated[
    list[ProvisionRequest],
    Field(
        min_length=1,
        max_length=MAX_FLEET_SIZE,
        description="The machines to provision; names must be unique within the fleet",
    ),
    AfterValidator(_names_are_unique),
]


class FleetProvisioningFailedError(RuntimeError):
    """Every request of the fleet failed; the message names each with its reason."""


@flow(name="provision-fleet", persist_result=True)
async def provision_fleet(
    requests: FleetRequests,
    concurrency: FleetConcurrency = 5,
    dry_run: DryRun = False,
    credentials_block: CredentialsBlock = None,
    webhook_settings_block: WebhookSettingsBlock = None,
    policies_block: PoliciesBlock = None,
) -> FleetResult:
    """Provision many GPU machines, at most `concurrency` at once; one failure sinks no other.

    The run ends Completed with every failure listed in the result (and the
    `provision-fleet` table artifact) when at least one request succeeded; it ends Failed,
    naming each request and its reason, when all failed.

    Args:
        requests: The machines to provision (1-500); names must be unique within the fleet.
        concurrency: Provisionings (creates, health checks) running at the same time, 1-50.
        dry_run: Only plan each request: no create call.
        credentials_block: Saved NovitaCredentials block (default: env).
        webhook_settings_block: Saved WebhookSettings block (default: env).
        policies_block: Saved NovitaPolicies block (default: built-ins).

    Returns:
        One item per request, in request order, with the counts.

    Raises:
        FleetProvisioningFailedError: Every request failed (the message names each).

    Example:
        ```python
        import asyncio
        from flows.provision_fleet import FleetRequest, provision_fleet

        fleet = asyncio.run(provision_fleet(requests=[
            FleetRequest(name=f"worker-{i}", product_name="RTX 4090 24GB", template_id="1001")
            for i in range(3)
        ], concurrency=2))
        print(fleet.ready, [item.result.instance_id for item in fleet.items if item.ok])
        ```

    """
    logger = get_run_logger()
    logger.info("Provisioning %d instance(s), %d at a time", len(requests), concurrency)
    async with open_flow_resources(
        credentials_block, webhook_settings_block, policies_block
    ) as res:
        fleet = await FleetProvisioning(res, requests, concurrency, dry_run).run()
    if fleet.succeeded == 0:
        reasons = "; ".join(f"{item.name}: {item.error}" for item in fleet.items)
        raise FleetProvisioningFailedError(f"All {fleet.requested} request(s) failed. {reasons}")
    if fleet.failed:
        logger.warning("%d of %d request(s) failed", fleet.failed, fleet.requested)
    return fleet
