"""What Novita offers: clusters (regions) and GPU products with their prices.

Prices arrive in 1/100000 USD per GPU-hour, the on-demand one as an int and the spot one as a
*string*; product regions sometimes carry a display suffix ("US-CA-06 (California)"). These
models hide both: ``Product.regions`` holds bare cluster names and the ``*_per_hour``
properties give exact ``Decimal`` dollars.

Example:
    >>> product = Product.model_validate(
    ...     {"id": "p1", "name": "RTX 4090 24GB", "price": 67000, "spotPrice": "34000",
    ...      "regions": ["US-CA-06 (California)"]})
    >>> product.price_per_hour, product.spot_price_per_hour, product.regions
    (Decimal('0.67'), Decimal('0.34'), ['US-CA-06'])

"""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import BeforeValidator, Field

from clients.novita._base import (
    CheckedInt,
    LenientBool,
    LenientInt,
    ListOrEmpty,
    NovitaModel,
    OptionalStr,
    RequiredId,
    parse_checked_int,
)

__all__ = [
    "PRICE_UNITS_PER_USD",
    "BillingMode",
    "Cluster",
    "MonthlyPrice",
    "Product",
    "strip_region_suffix",
    "units_to_usd",
]

BillingMode = Literal["onDemand", "spot", "monthly"]
"""Novita's billing modes, spelled as the API spells them."""

PRICE_UNITS_PER_USD = 100_000
"""Novita prices are integers in 1/100000 USD."""

_SUFFIX = re.compile(r"\s*\(.*\)\s*$")


def strip_region_suffix(region: str) -> str:
    """Drop the display suffix Novita sometimes appends to a cluster name.

    Example:
        >>> strip_region_suffix("US-CA-06 (California)")
        'US-CA-06'
        >>> strip_region_suffix(" AS-SGP-02 ")
        'AS-SGP-02'

    """
    return _SUFFIX.sub("", region).strip()


def units_to_usd(units: int | None) -> Decimal | None:
    """Convert a Novita price (1/100000 USD) to exact dollars.

    Example:
        >>> units_to_usd(67000)
        Decimal('0.67')

    """
    if units is None:
        return None
    return Decimal(units) / PRICE_UNITS_PER_USD


def _regions(value: Any) -> Any:
    if value is None or value == "":
        return []
    if isinstance(value, str):
        value = value.split(",")
    if not isinstance(value, list):
        return value
    seen: dict[str, None] = {}
    for item in value:
        if isinstance(item, str) and (name := strip_region_suffix(item)):
            seen.setdefault(name, None)
    return list(seen)


def _spot_price(value: Any) -> Any:
    # spotPrice is a string; "" or "0" means the product has no spot offer. A zero price
    # would otherwise make it look like the cheapest product in the catalogue.
    number = parse_checked_int(value)
    return number if number else None


class Cluster(NovitaModel):
    """A Novita cluster (what the console calls a region).

    Attributes:
        id: The id sent as ``clusterId`` (``us-ca-6``).
        name: The display name used in product ``regions`` (``US-CA-06``).
        available_gpu_types: GPU product names the cluster offers.
        support_network_storage: Whether network volumes can be created there.
        support_instance_network: Whether VPC networks can be created there.

    Example:
        >>> Cluster.model_validate({"id": "us-ca-6", "name": "US-CA-06", "availableGpuType": None})
        Cluster(id='us-ca-6', name='US-CA-06', available_gpu_types=[], ...)

    """

    id: RequiredId
    name: str = ""
    available_gpu_types: Annotated[list[str], ListOrEmpty] = Field(
        default_factory=list, alias="availableGpuType"
    )
    support_network_storage: LenientBool = False
    support_instance_network: LenientBool = False


class MonthlyPrice(NovitaModel):
    """One monthly-subscription price: ``price`` (1/100000 USD per GPU) for ``month`` months.

    Example:
        >>> MonthlyPrice.model_validate({"price": "43800000", "month": 1}).price
        43800000

    """

    price: LenientInt = None
    month: LenientInt = None


class Product(NovitaModel):
    """A GPU product (card model and size) and where and how it can be rented.

    Attributes:
        id: The ``productId`` sent on create.
        name: The product name ("RTX 4090 24GB").
        cpu_per_gpu, memory_per_gpu, disk_per_gpu: Resources per GPU (memory/disk in GB).
        available_deploy: Whether it can be deployed now.
        min_rootfs, max_rootfs: Allowed root filesystem size in GB.
        regions: Cluster names where it is available, display suffixes stripped.
        price: On-demand price, raw 1/100000 USD per GPU-hour (None if missing).
        spot_price: Spot price in the same unit, parsed from Novita's string; None if the
            product has no spot offer ("" or "0").
        monthly_prices: Monthly-subscription prices.
        billing_methods: Billing modes the product supports ("onDemand", "spot", "monthly").
        inventory_state: Novita's stock hint ("none", "low", "normal", "high"), if sent.

    Example:
        >>> product = Product(id="p1", price=67000, spot_price="34000")
        >>> product.price_for("spot")
        Decimal('0.34')

    """

    id: RequiredId
    name: str = ""
    cpu_per_gpu: LenientInt = None
    memory_per_gpu: LenientInt = None
    disk_per_gpu: LenientInt = None
    available_deploy: LenientBool = False
    min_rootfs: LenientInt = Field(default=None, alias="minRootFS")
    max_rootfs: LenientInt = Field(default=None, alias="maxRootFS")
    min_local_storage: LenientInt = None
    max_local_storage: LenientInt = None
    regions: Annotated[list[str], BeforeValidator(_regions)] = Field(default_factory=list)
    price: CheckedInt = None
    spot_price: Annotated[int | None, BeforeValidator(_spot_price)] = None
    monthly_prices: Annotated[list[MonthlyPrice], ListOrEmpty] = Field(
        default_factory=list, alias="monthlyPrice"
    )
    billing_methods: Annotated[list[str], ListOrEmpty] = Field(default_factory=list)
    inventory_state: OptionalStr = None
    available_gpu_number: LenientInt = None

    @property
    def price_per_hour(self) -> Decimal | None:
        """On-demand USD per GPU-hour, exact.

        Example:
            >>> Product(id="p", price=67000).price_per_hour
            Decimal('0.67')

        """
        return units_to_usd(self.price)

    @property
    def spot_price_per_hour(self) -> Decimal | None:
        """Spot USD per GPU-hour, exact; None when the product has no spot offer.

        Example:
            >>> Product(id="p", spot_price="34000").spot_price_per_hour
            Decimal('0.34')

        """
        return units_to_usd(self.spot_price)

    def supports(self, billing_mode: BillingMode) -> bool:
        """Whether the product can be rented with this billing mode.

        An empty ``billingMethods`` list is read as on-demand only (Novita's default).

        Example:
            >>> Product(id="p", billing_methods=["onDemand", "spot"]).supports("spot")
            True

        """
        if not self.billing_methods:
            return billing_mode == "onDemand"
        return billing_mode in self.billing_methods

    def price_for(self, billing_mode: BillingMode, months: int = 1) -> Decimal | None:
        """The USD price for a billing mode, None when that mode has no price.

        Args:
            billing_mode: "onDemand" or "spot" give USD per GPU-hour; "monthly" gives the
                USD per GPU for ``months`` months, as listed in ``monthlyPrice``.
            months: Subscription length, for "monthly" only.

        Returns:
            An exact ``Decimal``, or None.

        Example:
            >>> product = Product(id="p1", price=67000, spot_price="34000",
            ...     monthly_prices=[{"price": 43800000, "month": 1}])
            >>> product.price_for("onDemand"), product.price_for("spot")
            (Decimal('0.67'), Decimal('0.34'))
            >>> product.price_for("monthly")
            Decimal('438')

        """
        if billing_mode == "onDemand":
            return self.price_per_hour
        if billing_mode == "spot":
            return self.spot_price_per_hour
        if billing_mode == "monthly":
            for entry in self.monthly_prices:
                if entry.month == months:
                    return units_to_usd(entry.price)
            return None
        raise ValueError(f"unknown billing mode {billing_mode!r}")
