"""Read what Novita offers and plan a provisioning: clusters once, regions as they are needed.

A `RegionPlanner` reads a region's products only when a provisioning reaches that region in
its order (usually the first region serves and one product read is all it takes), keeps what
it read, and is shared by every machine of a fleet asking for the same thing: a hundred
machines plan with one cluster read and one product read. A region whose create was refused
for capacity is blocked for everyone sharing the planner. `build_plan` reads every region at
once, for a dry run's plan table.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

from clients.novita import BillingMode, NovitaClient, NovitaError
from flows.provisioning.rules.plan import ProvisionPlan, RegionPlan, plan_region
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


class RegionPlanner:
    """The regions of one kind of machine, planned lazily and shared (see the module docstring).

    Example:
        ```python
        planner = await make_planner(client, "RTX 4090 24GB", "spot", 1, 60, None, None)
        async for region in planner.regions_in_order():
            ...
        ```

    """

    def __init__(
        self,
        client: NovitaClient,
        product_name: str,
        billing_mode: BillingMode,
        gpu_num: int,
        rootfs_size: int,
        regions: list[Region],
    ) -> None:
        self.client = client
        self.product_name = product_name
        self.billing_mode: BillingMode = billing_mode
        self.gpu_num = gpu_num
        self.rootfs_size = rootfs_size
        self.regions = regions
        self.refused: dict[str, str] = {}
        """Cluster id -> why a create there was refused (capacity): blocked for everyone."""
        self._plans: dict[int, RegionPlan] = {}
        self._locks = [asyncio.Lock() for _ in regions]

    async def plan_of(self, index: int) -> RegionPlan:
        """The plan of the `index`-th region, read once (concurrent callers share the read)."""
        async with self._locks[index]:
            if index not in self._plans:
                region = self.regions[index]
                try:
                    products = await fetch_products(
                        self.client,
                        region.cluster_id,
                        self.product_name,
                        self.billing_mode,
                        self.gpu_num,
                    )
                    why = None
                except NovitaError as exc:
                    products, why = None, str(exc)
                self._plans[index] = plan_region(
                    region,
                    products,
                    self.product_name,
                    self.billing_mode,
                    self.gpu_num,
                    self.rootfs_size,
                    why,
                )
            return self._plans[index]

    async def regions_in_order(self) -> AsyncIterator[RegionPlan]:
        """Each region's plan in priority order, read only when the caller gets that far."""
        for index in range(len(self.regions)):
            yield await self.plan_of(index)

    async def full_plan(self) -> ProvisionPlan:
        """Every region planned (read concurrently): the whole picture for a dry run."""
        planned = await asyncio.gather(*(self.plan_of(i) for i in range(len(self.regions))))
        return ProvisionPlan(
            product_name=self.product_name,
            billing_mode=self.billing_mode,
            gpu_num=self.gpu_num,
            regions=list(planned),
        )


async def make_planner(
    client: NovitaClient,
    product_name: str,
    billing_mode: BillingMode,
    gpu_num: int,
    rootfs_size: int,
    preferred_region: str | None,
    region_priority: list[str] | None,
) -> RegionPlanner:
    """A planner for one kind of machine, its regions in order (one cached cluster read).

    Raises:
        UnknownRegionError: a region named in the preference or priority is not known.

    Example:
        ```python
        planner = await make_planner(client, "RTX 4090 24GB", "spot", 1, 60, None, None)
        ```

    """
    regions = await ordered_regions(client, preferred_region, region_priority)
    return RegionPlanner(client, product_name, billing_mode, gpu_num, rootfs_size, regions)


async def build_plan(
    client: NovitaClient,
    product_name: str,
    billing_mode: BillingMode,
    gpu_num: int,
    rootfs_size: int,
    preferred_region: str | None = None,
    region_priority: list[str] | None = None,
) -> ProvisionPlan:
    """Read clusters and every region's products (concurrently, cached) and choose per region.

    A region whose product list cannot be read is skipped with the error as its reason.

    Example:
        ```python
        plan = await build_plan(client, "RTX 4090 24GB", "spot", gpu_num=1, rootfs_size=60)
        plan.choice.region  # 'AS-SGP-02'
        ```

    """
    planner = await make_planner(
        client,
        product_name,
        billing_mode,
        gpu_num,
        rootfs_size,
        preferred_region,
        region_priority,
    )
    return await planner.full_plan()
