"""The plan before spending money: every region in order, its matching products, the choice."""

from __future__ import annotations

import asyncio
from decimal import Decimal

from pydantic import BaseModel, Field

from clients.novita import BillingMode, NovitaClient, NovitaError
from flows.product_choice import ProductOption, RegionChoice, choose_product
from flows.region_order import Region, region_order
from tasks.novita_catalog import fetch_clusters, fetch_products


class RegionPlan(BaseModel):
    """One region of the plan: what Novita offers there and whether it can be used."""

    region: str = Field(description="Cluster name, e.g. US-CA-06.")
    cluster_id: str
    options: list[ProductOption] = Field(default_factory=list)
    chosen: ProductOption | None = None
    skipped_because: str | None = None


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


async def build_plan(
    client: NovitaClient,
    product_name: str,
    billing_mode: BillingMode,
    gpu_num: int,
    rootfs_size: int,
    preferred_region: str | None = None,
    region_priority: list[str] | None = None,
) -> ProvisionPlan:
    """Read clusters and each region's products (concurrently, cached) and choose per region.

    A region whose product list cannot be read is skipped with the error as its reason.

    Example:
        ```python
        plan = await build_plan(client, "RTX 4090 24GB", "spot", gpu_num=1, rootfs_size=60)
        plan.choice.region  # 'AS-SGP-02'
        ```

    """
    clusters = await fetch_clusters(client)
    regions = region_order(clusters, preferred_region, region_priority)

    async def plan_region(region: Region) -> RegionPlan:
        try:
            products = await fetch_products(
                client, region.cluster_id, product_name, billing_mode, gpu_num
            )
        except NovitaError as exc:
            return RegionPlan(
                region=region.name,
                cluster_id=region.cluster_id,
                skipped_because=f"products could not be read: {exc}",
            )
        outcome: RegionChoice = choose_product(
            products, product_name, region.name, billing_mode, gpu_num, rootfs_size
        )
        return RegionPlan(
            region=region.name,
            cluster_id=region.cluster_id,
            options=outcome.options,
            chosen=outcome.chosen,
            skipped_because=outcome.skipped_because,
        )

    planned = await asyncio.gather(*(plan_region(r) for r in regions))
    return ProvisionPlan(
        product_name=product_name, billing_mode=billing_mode, gpu_num=gpu_num, regions=planned
    )
