"""The fleet budget as it stands now: the policy's limit and the running fleet's price per hour.

Read from the store only (one indexed query, no Novita call) and only when the
`NovitaPolicies` block sets `max_fleet_price_per_hour`; the decision itself is
`flows/provisioning/rules/budget.py`.
"""

from __future__ import annotations

from decimal import Decimal

from flows.common.resources import FlowResources
from flows.provisioning.rules.budget import FleetBudget, running_price_per_hour
from store.statuses import BILLED


async def fleet_budget(res: FlowResources) -> FleetBudget:
    """The budget a new machine is checked against: no limit, or the limit and today's total.

    Example:
        ```python
        budget = await fleet_budget(res)
        print(budget.refusal("trainer-2", Decimal("0.35")))
        ```

    """
    limit = res.policies.max_fleet_price_per_hour
    if limit is None:
        return FleetBudget()
    running = await res.store.list_instances(statuses=BILLED)
    # str(): the block holds a float; Decimal(str(0.3)) is 0.3, Decimal(0.3) is not.
    return FleetBudget(limit=Decimal(str(limit)), current=running_price_per_hour(running))
