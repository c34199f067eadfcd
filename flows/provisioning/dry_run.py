"""A dry run of a provisioning: the whole plan, every region in order, and no create call."""

from __future__ import annotations

from typing import TYPE_CHECKING

from prefect.artifacts import acreate_table_artifact

from flows.provisioning.adoption import ExistingInstance
from flows.provisioning.creation import skipped_regions
from flows.provisioning.result import ProvisionResult

if TYPE_CHECKING:  # provisioning.py calls this module: only the type is needed here
    from flows.provisioning.provisioning import Provisioning


async def plan_only(
    provisioning: Provisioning, existing: ExistingInstance | None
) -> ProvisionResult:
    """Dry run: plan every region, publish the plan as a table artifact, return it.

    No create call; an existing instance of the name is named in the result.

    Example:
        ```python
        result = await plan_only(Provisioning(res, request, dry_run=True), None)
        result.plan.choice.region  # where a create would go first
        ```

    """
    planner = await provisioning.shared.planner(provisioning.request)
    plan = await planner.full_plan()
    for skipped in skipped_regions(plan):
        provisioning.logger.info("Region %s skipped: %s", skipped.region, skipped.reason)
        provisioning.attempts.append(skipped)
    choice = plan.choice
    if provisioning.artifacts:
        await acreate_table_artifact(
            table=plan.table_rows(),
            key="provision-plan",
            description=f"Provisioning plan for {provisioning.name}: {plan.product_name} "
            f"({plan.billing_mode}), regions in the order they would be tried.",
        )
    if choice is not None and choice.chosen is not None:
        provisioning.logger.info(
            "Dry run: would create %s in %s at $%s/h",
            choice.chosen.product_id,
            choice.region,
            choice.chosen.price_per_hour,
        )
    else:
        provisioning.logger.warning("Dry run: no region offers %s", plan.product_name)
    return ProvisionResult(
        instance_id=existing.instance_id if existing else None,
        name=provisioning.name,
        status="planned",
        region=choice.region if choice else None,
        cluster_id=choice.cluster_id if choice else None,
        product_id=choice.chosen.product_id if choice and choice.chosen else None,
        product_name=plan.product_name,
        billing_mode=plan.billing_mode,
        price_per_hour=choice.total_price(provisioning.request.gpu_num) if choice else None,
        adopted=existing is not None,
        regions_tried=provisioning.attempts,
        plan=plan,
    )
