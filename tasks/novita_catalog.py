"""Cached reads of Novita's catalogue: clusters (regions) and GPU products."""

from __future__ import annotations

import datetime

from clients.novita import BillingMode, Cluster, NovitaClient, Product
from tasks.novita_task import novita_task

CATALOG_CACHE_TTL = datetime.timedelta(minutes=2)
"""Availability changes quickly; a short TTL still saves a sweep of repeated reads."""


@novita_task("novita-list-clusters", cache_ttl=CATALOG_CACHE_TTL)
async def fetch_clusters(client: NovitaClient) -> list[Cluster]:
    """List Novita's clusters (regions), cached per account for two minutes.

    Example:
        ```python
        clusters = await fetch_clusters(client)
        ```

    """
    return await client.list_clusters()


@novita_task("novita-list-products", cache_ttl=CATALOG_CACHE_TTL)
async def fetch_products(
    client: NovitaClient,
    cluster_id: str,
    product_name: str,
    billing_method: BillingMode,
    gpu_num: int = 1,
) -> list[Product]:
    """List the products of one cluster that Novita's (fuzzy) name filter matches, cached.

    Example:
        ```python
        products = await fetch_products(client, "us-ca-6", "RTX 4090 24GB", "spot")
        ```

    """
    return await client.list_products(
        cluster_id=cluster_id,
        product_name=product_name,
        billing_method=billing_method,
        gpu_num=gpu_num,
    )
