"""Create the machine: resolve the template, then create in the next region, failing over.

The regions come in the planner's order (`flows/provisioning/rules/region_order.py` says
which is next), each planned when reached; a create refused for capacity or rate (after the
client's own retries) blocks that region for this provisioning (and its fleet) and the next
one is tried. Every region tried or
skipped is kept as a `RegionAttempt`; when none could create, `ProvisioningFailedError`
carries them as data and names each with its reason. An ambiguous create (timeout, 500) is
looked up by name by the create task itself, never repeated blindly.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, SecretStr

from clients.novita import (
    CreateInstanceRequest,
    NovitaCapacityError,
    NovitaClient,
    NovitaRateLimitError,
    Template,
)
from flows.common.run_logger import run_logger
from flows.provisioning.budget import BudgetGuard
from flows.provisioning.planning import RegionPlanner
from flows.provisioning.request import ProvisionRequest
from flows.provisioning.rules.plan import ProvisionPlan, RegionPlan
from tasks.novita_actions import CreateResult, create_instance
from tasks.novita_templates import fetch_image_auth, fetch_template


class RegionAttempt(BaseModel):
    """One region tried (or skipped by the plan) and what happened there.

    Example:
        >>> RegionAttempt(region="US-CA-06", cluster_id="us-ca-6", outcome="created").outcome
        'created'

    """

    region: str
    cluster_id: str
    outcome: Literal["created", "refused", "skipped"]
    reason: str | None = None


class ProvisioningFailedError(RuntimeError):
    """Provisioning ended without a ready machine; `attempts` says what happened where.

    Example:
        >>> error = ProvisioningFailedError("no region", [RegionAttempt(
        ...     region="US-CA-06", cluster_id="us-ca-6", outcome="refused", reason="full")])
        >>> error.attempts[0].reason, error.code
        ('full', 'NO_REGION_AVAILABLE')

    """

    def __init__(
        self,
        message: str,
        attempts: list[RegionAttempt] | None = None,
        code: str = "NO_REGION_AVAILABLE",
    ) -> None:
        super().__init__(message)
        self.attempts = list(attempts or [])
        self.code = code

    def __reduce__(
        self,
    ) -> tuple[type[ProvisioningFailedError], tuple[str, list[RegionAttempt], str]]:
        # Prefect pickles a failed run's exception: keep the history and the code.
        return (type(self), (str(self), self.attempts, self.code))


def failover_summary(product_name: str, billing_mode: str, attempts: list[RegionAttempt]) -> str:
    """The message when no region could provision: the product, the mode, each region's reason.

    Example:
        >>> failover_summary("RTX 4090 24GB", "spot", [RegionAttempt(region="US-CA-06",
        ...     cluster_id="us-ca-6", outcome="skipped", reason="no product")])
        'No region could provision RTX 4090 24GB (spot). US-CA-06: no product'

    """
    lines = "; ".join(f"{a.region}: {a.reason}" for a in attempts)
    return f"No region could provision {product_name} ({billing_mode}). {lines}"


def skipped_regions(plan: ProvisionPlan) -> list[RegionAttempt]:
    """The regions a whole plan skips, as attempts with their reasons (a dry run's view).

    Example:
        >>> skipped_regions(ProvisionPlan(product_name="x", billing_mode="spot", gpu_num=1,
        ...     regions=[RegionPlan(region="A", cluster_id="a", skipped_because="none")]))[0].reason
        'none'

    """
    return [_skipped(r) for r in plan.regions if r.chosen is None]


def _skipped(region: RegionPlan) -> RegionAttempt:
    return RegionAttempt(
        region=region.region,
        cluster_id=region.cluster_id,
        outcome="skipped",
        reason=region.skipped_because,
    )


def _refused(region: RegionPlan, reason: str) -> RegionAttempt:
    return RegionAttempt(
        region=region.region, cluster_id=region.cluster_id, outcome="refused", reason=reason
    )


async def resolve_template(
    client: NovitaClient, template_id: str
) -> tuple[Template, SecretStr | None]:
    """Read the template and, for a private image, its registry credential.

    Example:
        ```python
        template, image_auth = await resolve_template(client, "1001")
        ```

    """
    template = await fetch_template(client, template_id)
    image_auth = None
    if template.image_auth_id:
        image_auth = await fetch_image_auth(client, template.image_auth_id)
        run_logger(__name__).info(
            "Template %s uses a private image: registry auth resolved", template.id
        )
    return template, image_auth


def create_request(
    request: ProvisionRequest,
    region: RegionPlan,
    template: Template,
    image_auth: SecretStr | None,
) -> CreateInstanceRequest:
    """The body of one create: the request's machine, the region's product, the template.

    Example:
        ```python
        body = create_request(request, plan.choice, template, None)
        ```

    """
    chosen = region.chosen
    assert chosen is not None  # only regions with a chosen product are created in
    return CreateInstanceRequest(
        name=request.name,
        product_id=chosen.product_id,
        gpu_num=request.gpu_num,
        rootfs_size=request.rootfs_size,
        image_url=template.image,
        cluster_id=region.cluster_id,
        billing_mode=request.billing_mode,
        ports=template.ports_spec() or None,
        envs=template.envs,
        command=template.start_command or None,
        image_auth=image_auth,
    )


async def create_with_failover(
    client: NovitaClient,
    planner: RegionPlanner,
    request: ProvisionRequest,
    template: Template,
    image_auth: SecretStr | None,
    attempts: list[RegionAttempt],
    budget: BudgetGuard | None = None,
) -> tuple[CreateResult, RegionPlan]:
    """Create in the next usable region; a capacity or rate refusal moves on to the next.

    Regions are planned as they are reached; each one skipped or refused is appended to
    `attempts`, then the one created in. A refusal blocks that region for every provisioning
    sharing `planner` (a fleet), which then skip it without asking again. A region whose
    price would take the running fleet over `budget` is skipped before its create call (a
    cheaper region further on may still fit); a machine that passes is booked into it.

    Raises:
        ProvisioningFailedError: no region could create it (every attempt in the error);
            code `OVER_BUDGET` and the budget's message when the budget stopped it.
        NovitaError: a refusal failover does not cover (validation, auth...).

    Example:
        ```python
        created, region = await create_with_failover(client, planner, request, template,
                                                     None, attempts=[])
        ```

    """
    logger = run_logger(__name__)
    over_budget: str | None = None
    async for region in planner.regions_in_order():
        chosen = region.chosen
        if chosen is None:
            logger.info("Region %s skipped: %s", region.region, region.skipped_because)
            attempts.append(_skipped(region))
            continue
        if region.cluster_id in planner.refused:
            attempts.append(_refused(region, planner.refused[region.cluster_id]))
            continue
        machine = f"{request.name} ({chosen.name} in {region.region})"
        price = region.total_price(request.gpu_num)
        refusal = budget.reserve(machine, price) if budget else None
        if refusal is not None:
            logger.warning("Region %s skipped: %s", region.region, refusal)
            attempts.append(
                RegionAttempt(
                    region=region.region,
                    cluster_id=region.cluster_id,
                    outcome="skipped",
                    reason=refusal,
                )
            )
            over_budget = over_budget or refusal
            continue
        logger.info(
            "Creating %s in %s: %s at $%s/GPU-h",
            request.name,
            region.region,
            chosen.product_id,
            chosen.price_per_hour,
        )
        try:
            created = await create_instance.with_options(task_run_name=f"create-{request.name}")(
                client, create_request(request, region, template, image_auth)
            )
        except (NovitaCapacityError, NovitaRateLimitError) as exc:
            if budget:
                budget.release(price)  # not created: its price is not spent
            reason = f"create refused: {exc.api_message or exc} ({exc.reason or exc.status_code})"
            logger.warning("Region %s: %s; trying the next region", region.region, reason)
            planner.refused.setdefault(region.cluster_id, reason)
            attempts.append(_refused(region, reason))
            continue
        if created.found_after_error:
            logger.info("The ambiguous create did happen: adopting %s", created.instance_id)
        attempts.append(
            RegionAttempt(region=region.region, cluster_id=region.cluster_id, outcome="created")
        )
        return created, region
    if over_budget is not None:
        raise ProvisioningFailedError(over_budget, attempts, "OVER_BUDGET")
    raise ProvisioningFailedError(
        failover_summary(request.product_name, request.billing_mode, attempts), attempts
    )
