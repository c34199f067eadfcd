"""What the provisionings of one run share: planners, templates read once, the fleet budget.

A fleet of a hundred identical machines plans once and reads its template once: every
provisioning asks this object, which reads on the first ask (the others wait for that read)
and answers the rest from memory. A single provisioning simply has one of its own.
"""

from __future__ import annotations

import asyncio
from collections import defaultdict

from pydantic import SecretStr

from clients.novita import Template
from flows.common.resources import FlowResources
from flows.common.webhook_targets import keep_webhook
from flows.provisioning.budget import BudgetGuard, fleet_budget
from flows.provisioning.creation import resolve_template
from flows.provisioning.planning import RegionPlanner, make_planner
from flows.provisioning.request import ProvisionRequest

PlanKey = tuple[str, str, int, int, str | None, tuple[str, ...] | None]


class ProvisioningShared:
    """Planners and templates of one flow run (see the module docstring).

    Example:
        ```python
        shared = ProvisioningShared(res)
        planner = await shared.planner(request)
        template, image_auth = await shared.template(request.template_id)
        ```

    """

    def __init__(self, res: FlowResources) -> None:
        self.res = res
        self._planners: dict[PlanKey, RegionPlanner] = {}
        self._templates: dict[str, tuple[Template, SecretStr | None]] = {}
        self._webhooks: dict[tuple[str | None, str | None], str | None] = {}
        self._locks: defaultdict[object, asyncio.Lock] = defaultdict(asyncio.Lock)
        self._budget: BudgetGuard | None = None

    async def planner(self, request: ProvisionRequest) -> RegionPlanner:
        """The planner of this kind of machine (product, billing, size, region preferences).

        Raises:
            UnknownRegionError: the request names a region Novita does not know.

        """
        priority = request.regions or self.res.policies.region_priority
        key: PlanKey = (
            request.product_name,
            request.billing_mode,
            request.gpu_num,
            request.rootfs_size,
            request.region,
            tuple(priority) if priority else None,
        )
        async with self._locks[("plan", key)]:
            if key not in self._planners:
                self._planners[key] = await make_planner(
                    self.res.client,
                    request.product_name,
                    request.billing_mode,
                    request.gpu_num,
                    request.rootfs_size,
                    request.region,
                    priority,
                )
            return self._planners[key]

    async def budget(self) -> BudgetGuard:
        """The run's fleet budget, read once: every machine of the run books into it."""
        async with self._locks["budget"]:
            if self._budget is None:
                self._budget = BudgetGuard(await fleet_budget(self.res))
            return self._budget

    async def template(self, template_id: str) -> tuple[Template, SecretStr | None]:
        """The template and, for a private image, its registry credential (read once)."""
        async with self._locks[("template", template_id)]:
            if template_id not in self._templates:
                self._templates[template_id] = await resolve_template(self.res.client, template_id)
            return self._templates[template_id]

    async def webhook(self, request: ProvisionRequest) -> str | None:
        """The owner's webhook in its stored form (the real URL kept in a Secret block)."""
        url = request.webhook_url.get_secret_value() if request.webhook_url else None
        key = (url, request.webhook_block)
        async with self._locks[("webhook", key)]:
            if key not in self._webhooks:
                self._webhooks[key] = await keep_webhook(request.webhook_url, request.webhook_block)
            return self._webhooks[key]
