"""The plan before spending money: every region in order, its matching products, the choice.

`plan_region` turns what Novita listed in one region into that region's line of the plan
(`choose_product` decides); `ProvisionPlan` keeps the regions in the order they would be
tried (`region_order` decides) and shows itself as a table. No I/O: the catalogue is read by
`flows/provisioning/planning.py`.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal

from pydantic import BaseModel, Field

from clients.novita.catalog import BillingMode, Product
from flows.provisioning.rules.product_choice import ProductOption, choose_product
from flows.provisioning.rules.region_order import Region


class RegionPlan(BaseModel):
    """One region of the plan: what Novita offers there and whether it can be used."""

    region: str = Field(description="Cluster name, e.g. US-CA-06.")
    cluster_id: str
    options: list[ProductOption] = Field(default_factory=list)
    chosen: ProductOption | None = None
    skipped_because: str | None = None

    def total_price(self, gpu_num: int) -> Decimal | None:
        """USD per hour for all GPUs of the chosen product, None when unknown.

        Example:
            >>> RegionPlan(region="US-CA-06", cluster_id="us-ca-6").total_price(2) is None
            True

        """
        if self.chosen is None or self.chosen.price_per_hour is None:
            return None
        return self.chosen.price_per_hour * gpu_num


class ProvisionPlan(BaseModel):
    """Regions in the order they would be tried, and the product/region that would be used."""

    product_name: str
    billing_mode: BillingMode
    gpu_num: int
    regions: list[RegionPlan]

    @property
    def usable(self) -> list[RegionPlan]:
        """Regions with a chosen product, in priority order."""
        return [r for r in self.regions if r.chosen is not None]

    @property
    def choice(self) -> RegionPlan | None:
        """The first usable region: what a create would try first."""
        usable = self.usable
        return usable[0] if usable else None

    def table_rows(self) -> list[dict[str, str]]:
        """One row per region and product, for a Prefect table artifact.

        Example:
            ```python
            await acreate_table_artifact(plan.table_rows(), key="provision-plan")
            ```

        """
        rows: list[dict[str, str]] = []
        choice = self.choice
        for order, region in enumerate(self.regions, start=1):
            base = {"order": str(order), "region": region.region, "cluster": region.cluster_id}
            if not region.options:
                rows.append(
                    base
                    | {
                        "product": "-",
                        "price_per_hour": "-",
                        "available": "-",
                        "decision": f"skipped: {region.skipped_because}",
                    }
                )
            for option in region.options:
                rows.append(base | _option_cells(option, region, choice))
        return rows


def _option_cells(
    option: ProductOption, region: RegionPlan, choice: RegionPlan | None
) -> dict[str, str]:
    chosen_here = region.chosen is not None and region.chosen.product_id == option.product_id
    if chosen_here and choice is region:
        decision = "CHOSEN"
    elif chosen_here:
        decision = "fallback (if earlier regions fail at create)"
    elif option.rejected_because:
        decision = f"skipped: {option.rejected_because}"
    else:
        decision = "not the cheapest here"
    price = option.price_per_hour
    return {
        "product": f"{option.name} ({option.product_id})",
        "price_per_hour": f"${price}" if isinstance(price, Decimal) else "-",
        "available": "yes" if option.available else "no",
        "decision": decision,
    }


def plan_region(
    region: Region,
    products: Sequence[Product] | None,
    product_name: str,
    billing_mode: BillingMode,
    gpu_num: int,
    rootfs_size: int,
    unreadable_because: str | None = None,
) -> RegionPlan:
    """One region's line of the plan: its options and choice, or why it is skipped.

    Example:
        >>> p = Product(id="a", name="RTX 4090 24GB", price=69000, spot_price="35000",
        ...     available_deploy=True, billing_methods=["onDemand", "spot"])
        >>> r = Region(name="US-CA-06", cluster_id="us-ca-6")
        >>> plan_region(r, [p], "RTX 4090 24GB", "spot", 1, 60).chosen.product_id
        'a'
        >>> plan_region(r, None, "RTX 4090 24GB", "spot", 1, 60, "HTTP 503").skipped_because
        'products could not be read: HTTP 503'

    """
    if products is None:
        return RegionPlan(
            region=region.name,
            cluster_id=region.cluster_id,
            skipped_because=f"products could not be read: {unreadable_because}",
        )
    outcome = choose_product(
        products, product_name, region.name, billing_mode, gpu_num, rootfs_size
    )
    return RegionPlan(
        region=region.name,
        cluster_id=region.cluster_id,
        options=outcome.options,
        chosen=outcome.chosen,
        skipped_because=outcome.skipped_because,
    )
