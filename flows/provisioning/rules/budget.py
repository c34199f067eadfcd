"""May one more machine be created? The fleet budget, `max_fleet_price_per_hour`, in memory.

The running fleet is every managed instance that runs or is being brought up (`BILLED`:
creating, starting, migrating, running, health_checking, ready), priced at what the store
recorded when it was provisioned (USD per hour, all GPUs). A new machine is refused when its
price would take that total above the policy's limit, before any create call; no limit set
means no budget. A machine whose price is unknown is refused while a limit is set: the
budget cannot be kept without it.
"""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal

from pydantic import BaseModel, ConfigDict

from flows.common.dashboard_format import format_usd
from store.models import ManagedInstance
from store.statuses import BILLED


def running_price_per_hour(records: Iterable[ManagedInstance]) -> Decimal:
    """What the running fleet costs per hour: the recorded prices of its `BILLED` records.

    Example:
        >>> running_price_per_hour([
        ...     ManagedInstance(instance_id="a", name="a", status="ready",
        ...                     price_per_hour=Decimal("0.35")),
        ...     ManagedInstance(instance_id="b", name="b", status="creating",
        ...                     price_per_hour=Decimal("0.30")),
        ...     ManagedInstance(instance_id="c", name="c", status="stopped",
        ...                     price_per_hour=Decimal("0.70"))])
        Decimal('0.65')

    """
    return sum(
        (r.price_per_hour for r in records if r.status in BILLED and r.price_per_hour),
        Decimal(0),
    )


class FleetBudget(BaseModel):
    """The limit and what the running fleet costs now; `refusal` decides one new machine.

    Example:
        >>> budget = FleetBudget(limit=Decimal("1"), current=Decimal("0.65"))
        >>> budget.refusal("trainer-2 (RTX 4090 24GB in US-CA-06)", Decimal("0.35")) is None
        True
        >>> print(budget.refusal("trainer-3", Decimal("0.40")))  # doctest: +NORMALIZE_WHITESPACE
        Over budget: the running fleet costs $0.65/h now; trainer-3 at $0.40/h would bring it
        to $1.05/h, above max_fleet_price_per_hour $1.00/h. Nothing was created.

    """

    model_config = ConfigDict(frozen=True)

    limit: Decimal | None = None
    current: Decimal = Decimal(0)

    def refusal(self, machine: str, price_per_hour: Decimal | None) -> str | None:
        """Why `machine` may not be created (a message naming both totals), or None.

        Args:
            machine: How to name the machine in the message (name, product, region).
            price_per_hour: Its price, USD per hour for all its GPUs; None when unknown.

        """
        if self.limit is None:
            return None
        if price_per_hour is None:
            return (
                f"Over budget check: the price of {machine} is unknown, so the running fleet "
                f"({format_usd(self.current)}/h now) cannot be kept under "
                f"max_fleet_price_per_hour {format_usd(self.limit)}/h. Nothing was created."
            )
        total = self.current + price_per_hour
        if total <= self.limit:
            return None
        return (
            f"Over budget: the running fleet costs {format_usd(self.current)}/h now; "
            f"{machine} at {format_usd(price_per_hour)}/h would bring it to "
            f"{format_usd(total)}/h, above max_fleet_price_per_hour "
            f"{format_usd(self.limit)}/h. Nothing was created."
        )
