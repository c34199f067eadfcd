"""The fleet budget of one run's provisionings: read once from the store, then kept in memory.

The limit is the `NovitaPolicies` block's `max_fleet_price_per_hour`; the running fleet's
price per hour is read from the store (one indexed query, no Novita call) the first time a
machine of the run is about to be created, and only when a limit is set. Every machine that
passes the check adds its price at once, with no await between the check and the addition,
so the machines of one fleet created concurrently see each other; a create that Novita
refused gives its price back. The decision itself is `flows/provisioning/rules/budget.py`.
"""

from __future__ import annotations

from decimal import Decimal

from flows.common.resources import FlowResources
from flows.provisioning.rules.budget import FleetBudget, running_price_per_hour
from store.statuses import BILLED


async def fleet_budget(res: FlowResources) -> FleetBudget:
    """The budget as the store sees it now: no limit, or the limit and the running total.

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


class BudgetGuard:
    """Checks and books each new machine of a run against the fleet budget.

    Example:
        >>> guard = BudgetGuard(FleetBudget(limit=Decimal("1"), current=Decimal("0.3")))
        >>> guard.reserve("a", Decimal("0.4")) is None, guard.reserve("b", Decimal("0.4"))[:12]
        (True, 'Over budget:')
        >>> guard.release(Decimal("0.4"))
        >>> guard.reserve("b", Decimal("0.4")) is None
        True

    """

    def __init__(self, budget: FleetBudget) -> None:
        self.budget = budget

    def reserve(self, machine: str, price_per_hour: Decimal | None) -> str | None:
        """Book `machine` into the running total, or say why it may not be created."""
        refusal = self.budget.refusal(machine, price_per_hour)
        if refusal is None and self.budget.limit is not None and price_per_hour is not None:
            self._add(price_per_hour)
        return refusal

    def release(self, price_per_hour: Decimal | None) -> None:
        """Give back a booking whose machine was not created (Novita refused the create)."""
        if self.budget.limit is not None and price_per_hour is not None:
            self._add(-price_per_hour)

    def _add(self, amount: Decimal) -> None:
        self.budget = self.budget.model_copy(update={"current": self.budget.current + amount})
