"""Read what Novita offers and plan the provisioning: clusters once, each region's products."""

from __future__ import annotations

import asyncio

from clients.novita import BillingMode, NovitaClient, NovitaError, Product
from flows.provisioning.rules.plan import ProvisionPlan, plan_region
from flows.provisioning.rules.region_order import Region, region_order
from tasks.novita_catalog import fetch_clusters, fetch_products


async def ordered_regions(
    client: NovitaClient, preferred: str | None, priority: list[str] | None
) -> list[Region]:
    """The regions to try, in order, with the cluster ids Novita lists (cached read).

    Raises:
        UnknownRegionError: `preferred` or `priority` names no known region.

    Example:
        ```python
        regions = await ordered_regions(client, "US-CA-06", None)
        ```

    """
    return region_order(await fetch_clusters(client), preferred, priority)


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
    regions = await ordered_regions(client, preferred_region, region_priority)

    async def products_in(region: Region) -> tuple[list[Product] | None, str | None]:
        try:
            return (
                await fetch_products(
                    client, region.cluster_id, product_name, billing_mode, gpu_num
                ),
                None,
            )
        except NovitaError as exc:
            return None, str(exc)

    listed = await asyncio.gather(*(products_in(r) for r in regions))
    return ProvisionPlan(
        product_name=product_name,
        billing_mode=billing_mode,
        gpu_num=gpu_num,
        regions=[
            plan_region(region, products, product_name, billing_mode, gpu_num, rootfs_size, why)
            for region, (products, why) in zip(regions, listed, strict=True)
        ],
    )
