"""Product choice in one region: exact name, deployable, cheapest for the billing mode."""

from __future__ import annotations

import re
from collections.abc import Sequence
from decimal import Decimal

from pydantic import BaseModel

from clients.novita.catalog import BillingMode, Product, strip_region_suffix


class ProductOption(BaseModel):
    """A product Novita listed in a region, with its price and why it was set aside."""

    product_id: str
    name: str
    price_per_hour: Decimal | None
    available: bool
    memory_per_gpu: int | None = None
    cpu_per_gpu: int | None = None
    rejected_because: str | None = None


class RegionChoice(BaseModel):
    """The outcome in one region: the chosen option, every option, or the reason to skip."""

    chosen: ProductOption | None
    options: list[ProductOption]
    skipped_because: str | None = None


def normalize_product_name(name: str) -> str:
    """Compare product names with case and spacing aside.

    Example:
        >>> normalize_product_name(" rtx  4090 24gb") == normalize_product_name("RTX 4090 24GB")
        True

    """
    return re.sub(r"\s+", "", name).casefold()


def _rejection(
    product: Product,
    region_name: str,
    billing_mode: BillingMode,
    gpu_num: int,
    rootfs_size: int,
) -> str | None:
    if product.regions and region_name.casefold() not in {
        strip_region_suffix(r).casefold() for r in product.regions
    }:
        return f"not offered in {region_name}"
    if not product.available_deploy:
        return "not available to deploy"
    if not product.supports(billing_mode) or product.price_for(billing_mode) is None:
        return f"no {billing_mode} price"
    if product.available_gpu_number is not None and gpu_num > product.available_gpu_number:
        return f"only {product.available_gpu_number} GPU(s) available"
    if product.min_rootfs and rootfs_size < product.min_rootfs:
        return f"rootfs_size {rootfs_size} GB below the product minimum {product.min_rootfs} GB"
    if product.max_rootfs and rootfs_size > product.max_rootfs:
        return f"rootfs_size {rootfs_size} GB above the product maximum {product.max_rootfs} GB"
    return None


def choose_product(
    products: Sequence[Product],
    product_name: str,
    region_name: str,
    billing_mode: BillingMode,
    gpu_num: int = 1,
    rootfs_size: int = 60,
) -> RegionChoice:
    """Pick the cheapest deployable product whose name equals `product_name` in one region.

    Ties go to more memory per GPU, then more CPU per GPU, then the smaller id. Products
    Novita's fuzzy filter returned under another name are ignored (not listed as options).

    Example:
        >>> p = Product(id="a", name="RTX 4090 24GB", price=69000, spot_price="35000",
        ...     available_deploy=True, billing_methods=["onDemand", "spot"])
        >>> choose_product([p], "rtx 4090 24gb", "US-CA-06", "spot").chosen.product_id
        'a'

    """
    wanted = normalize_product_name(product_name)
    options: list[tuple[ProductOption, Product]] = []
    for product in products:
        if normalize_product_name(product.name or "") != wanted:
            continue
        option = ProductOption(
            product_id=product.id,
            name=product.name,
            price_per_hour=product.price_for(billing_mode),
            available=bool(product.available_deploy),
            memory_per_gpu=product.memory_per_gpu,
            cpu_per_gpu=product.cpu_per_gpu,
            rejected_because=_rejection(product, region_name, billing_mode, gpu_num, rootfs_size),
        )
        options.append((option, product))
    eligible = [o for o, _ in options if o.rejected_because is None]
    if not eligible:
        if not options:
            reason = f"no product named {product_name!r}"
        else:
            reasons = sorted({o.rejected_because or "" for o, _ in options})
            reason = f"{product_name}: " + "; ".join(reasons)
        return RegionChoice(chosen=None, options=[o for o, _ in options], skipped_because=reason)
    best = min(
        eligible,
        key=lambda o: (
            o.price_per_hour,
            -(o.memory_per_gpu or 0),
            -(o.cpu_per_gpu or 0),
            o.product_id,
        ),
    )
    return RegionChoice(chosen=best, options=[o for o, _ in options])
