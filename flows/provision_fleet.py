"""The `provision-fleet` flow: many provisionings at once, bounded, each its own subflow run.

Every request runs `provision-instance` as a subflow (its own flow run in the UI, named after
the instance), at most `concurrency` at a time. A request that fails is caught into its own
entry of the result: one failure never sinks the others. The fleet run ends Completed when at
least one request succeeded (the failures are listed in the result and in the `provision-fleet`
table artifact) and Failed, naming every request and its reason, when all of them failed.
"""

# No `from __future__ import annotations` in flow modules: a served flow's parameter types
# must resolve in the process that runs it (see flows/common/parameters.py).

import asyncio
from collections import Counter
from typing import Annotated, Any

from prefect import flow, get_run_logger
from prefect.artifacts import acreate_table_artifact
from prefect.client.schemas.objects import State
from pydantic import AfterValidator, BaseModel, Field

from flows.common.parameters import CredentialsBlock, DryRun, PoliciesBlock, WebhookSettingsBlock
from flows.provision import ProvisioningFailedError, ProvisionResult, provision_instance
from flows.provisioning.request import ProvisionRequest

MAX_FLEET_SIZE = 500
"""Requests per fleet run: each is a subflow run, and the Prefect server pays for every one."""

# Each subflow run is named after its instance, so the fleet's children are readable in the UI.
_provision_subflow = provision_instance.with_options(flow_run_name="provision-{name}")


FleetRequest = ProvisionRequest
"""One machine of the fleet: a `ProvisionRequest` (the parameters of `provision-instance`)."""


def _names_are_unique(requests: list[FleetRequest]) -> list[FleetRequest]:
    # Two requests with one name would adopt each other's machine: refuse before any call.
    counts = Counter(r.name for r in requests)
    duplicates = sorted(name for name, count in counts.items() if count > 1)
    if duplicates:
        raise ValueError(f"instance names must be unique within a fleet; repeated: {duplicates}")
    return requests


FleetRequests = Annotated[
    list[FleetRequest],
    Field(
        min_length=1,
        max_length=MAX_FLEET_SIZE,
        description="The machines to provision; names must be unique within the fleet",
    ),
    AfterValidator(_names_are_unique),
]


class FleetItem(BaseModel):
    """The outcome of one request: its result, or why it failed."""

    name: str
    ok: bool
    result: ProvisionResult | None = None
    error: str | None = None
    flow_run_id: str | None = Field(default=None, description="The request's subflow run")


class FleetResult(BaseModel):
    """What `provision-fleet` returns: one item per request, in request order, and counts."""

    requested: int
    succeeded: int = Field(description="Requests that ended without error (ready, or as asked)")
    ready: int = Field(description="Requests whose machine is ready")
    failed: int
    items: list[FleetItem]


class FleetProvisioningFailedError(RuntimeError):
    """Every request of the fleet failed; the message names each with its reason."""


def _error_text(error: BaseException) -> str:
    # ProvisioningFailedError already reads as a sentence; other errors need their kind.
    if isinstance(error, ProvisioningFailedError):
        return str(error)
    return f"{type(error).__name__}: {error}"


async def _outcome(name: str, state: State[ProvisionResult]) -> FleetItem:
    """Turn a finished subflow run's state into the request's item."""
    run_id = state.state_details.flow_run_id
    flow_run_id = str(run_id) if run_id else None
    try:
        outcome: Any = await state.aresult(raise_on_failure=False)
    except Exception:  # an unreadable result still leaves the state's own message
        outcome = None
    if state.is_completed() and isinstance(outcome, ProvisionResult):
        return FleetItem(name=name, ok=True, result=outcome, flow_run_id=flow_run_id)
    error = _error_text(outcome) if isinstance(outcome, BaseException) else None
    return FleetItem(
        name=name,
        ok=False,
        error=error or state.message or f"subflow ended {state.name}",
        flow_run_id=flow_run_id,
    )


def _table_rows(items: list[FleetItem]) -> list[dict[str, str]]:
    rows = []
    for item in items:
        result = item.result
        rows.append(
            {
                "name": item.name,
                "outcome": "ok" if item.ok else "FAILED",
                "status": result.status if result else "-",
                "instance_id": (result.instance_id if result else None) or "-",
                "region": (result.region if result else None) or "-",
                "price_per_hour": f"${result.price_per_hour}"
                if result and result.price_per_hour is not None
                else "-",
                "error": item.error or "",
            }
        )
    return rows


@flow(name="provision-fleet", persist_result=True)
async def provision_fleet(
    requests: FleetRequests,
    concurrency: Annotated[
        int, Field(ge=1, le=50, description="Provisionings running at the same time, 1-50")
    ] = 5,
    dry_run: DryRun = False,
    credentials_block: CredentialsBlock = None,
    webhook_settings_block: WebhookSettingsBlock = None,
    policies_block: PoliciesBlock = None,
) -> FleetResult:
    """Provision many GPU machines, at most `concurrency` at once; one failure sinks no other.

    Each request runs `provision-instance` as a subflow. The run ends Completed with every
    failure listed in the result (and the `provision-fleet` table artifact) when at least one
    request succeeded; it ends Failed, naming each request and its reason, when all failed.

    Args:
        requests: The machines to provision (1-500); names must be unique within the fleet.
        concurrency: Provisionings running at the same time, 1-50.
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
    gate = asyncio.Semaphore(concurrency)
    shared = {
        "dry_run": dry_run,
        "credentials_block": credentials_block,
        "webhook_settings_block": webhook_settings_block,
        "policies_block": policies_block,
    }

    async def provision_one(request: FleetRequest) -> FleetItem:
        async with gate:
            try:
                # return_state: the subflow's state carries its run id (linked from the item)
                # and its exception, without raising here; its run still shows Failed.
                state = await _provision_subflow(
                    **request.model_dump(mode="json"), **shared, return_state=True
                )
            except Exception as exc:  # the subflow could not even start (e.g. API trouble)
                state = None
                item = FleetItem(name=request.name, ok=False, error=_error_text(exc))
        if state is not None:
            item = await _outcome(request.name, state)
        if item.ok:
            logger.info("%s: %s", item.name, item.result.status if item.result else "ok")
        else:
            logger.warning("%s failed: %s", item.name, item.error)
        return item

    logger.info("Provisioning %d instance(s), %d at a time", len(requests), concurrency)
    items = list(await asyncio.gather(*(provision_one(r) for r in requests)))
    fleet = FleetResult(
        requested=len(items),
        succeeded=sum(item.ok for item in items),
        ready=sum(
            item.ok and item.result is not None and item.result.status == "ready" for item in items
        ),
        failed=sum(not item.ok for item in items),
        items=items,
    )
    await acreate_table_artifact(
        table=_table_rows(items),
        key="provision-fleet",
        description=f"Fleet of {fleet.requested}: {fleet.ready} ready, "
        f"{fleet.succeeded} succeeded, {fleet.failed} failed.",
    )
    if fleet.succeeded == 0:
        reasons = "; ".join(f"{item.name}: {item.error}" for item in items)
        raise FleetProvisioningFailedError(f"All {fleet.requested} request(s) failed. {reasons}")
    if fleet.failed:
        logger.warning("%d of %d request(s) failed", fleet.failed, fleet.requested)
    return fleet
