"""The simulated cloud's catalogue: clusters, GPU products, templates and registry auths.

These are the read-mostly facts of the account. :mod:`simulator.seed` fills a
:class:`Catalog`; scenario controls flip product availability; the API routes render the
records with their ``to_api`` methods in Novita's exact shapes (``spotPrice`` a string,
template ``Id`` with a capital I, ...).

Product ids are per cluster (one record = one product in one cluster), so ``regions`` of a
product always names exactly one cluster.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

__all__ = [
    "Catalog",
    "Cluster",
    "Product",
    "RegistryAuth",
    "Template",
    "fuzzy_contains",
]

BILLING_METHODS = ("onDemand", "spot", "monthly")
"""Billing modes Novita knows; products list the subset they support."""

MONTHLY_DISCOUNTS = ((1, 0.85), (3, 0.80), (6, 0.75), (12, 0.70))
"""Monthly plans: (months, price factor against 720 on-demand hours per month)."""


def fuzzy_contains(haystack: str, needle: str) -> bool:
    """Novita-style fuzzy filter: case-insensitive substring match, whitespace ignored.

    Example:
        >>> fuzzy_contains("RTX 4090D 24GB", "rtx 4090")
        True
        >>> fuzzy_contains("RTX 4090D 24GB", "RTX 4090 24GB")
        False

    """
    return "".join(needle.lower().split()) in "".join(haystack.lower().split())


@dataclass(frozen=True)
class Cluster:
    """A Novita cluster (region).

    Example:
        >>> Cluster("as-sgp-2", "AS-SGP-02").id
        'as-sgp-2'

    """

    id: str
    name: str
    support_network_storage: bool = False
    support_instance_network: bool = False
    region_label: str = ""
    """How products name this cluster in ``regions`` (defaults to the name; may carry a
    suffix such as "US-CA-06 (California)")."""

    @property
    def label(self) -> str:
        """The name as written in product ``regions``."""
        return self.region_label or self.name


@dataclass
class Product:
    """One GPU product in one cluster; prices in 1/100000 USD per GPU-hour.

    Example:
        >>> p = Product("x.as-sgp-2", "RTX 4090 24GB", "as-sgp-2", 16, 62, 100, 69000, 35000)
        >>> p.to_api("AS-SGP-02")["spotPrice"]
        '35000'

    """

    id: str
    name: str
    cluster_id: str
    cpu_per_gpu: int
    memory_per_gpu: int
    disk_per_gpu: int
    price: int
    spot_price: int | None
    """None when the product cannot be rented as spot (then ``spotPrice`` reads "0")."""
    available: bool = True
    max_rootfs: int = 1000
    min_rootfs: int = 10
    available_gpu_number: int = 8
    inventory_state: str = "normal"

    @property
    def billing_methods(self) -> list[str]:
        """Billing modes this product supports, in Novita's order."""
        methods = ["onDemand"]
        if self.spot_price is not None:
            methods.append("spot")
        methods.append("monthly")
        return methods

    def to_api(self, region_label: str) -> dict[str, Any]:
        """Render the product as ``GET /products`` returns it."""
        return {
            "id": self.id,
            "name": self.name,
            "cpuPerGpu": self.cpu_per_gpu,
            "memoryPerGpu": self.memory_per_gpu,
            "diskPerGpu": self.disk_per_gpu,
            "availableDeploy": self.available,
            "minRootFS": self.min_rootfs,
            "maxRootFS": self.max_rootfs,
            "minLocalStorage": 0,
            "maxLocalStorage": 0,
            "regions": [region_label],
            "price": self.price,
            "spotPrice": str(self.spot_price if self.spot_price is not None else 0),
            "monthlyPrice": [
                {"price": round(self.price * 720 * factor) * months, "month": months}
                for months, factor in MONTHLY_DISCOUNTS
            ],
            "billingMethods": self.billing_methods,
            "inventoryState": self.inventory_state if self.available else "none",
            "availableGpuNumber": self.available_gpu_number if self.available else 0,
        }


@dataclass(frozen=True)
class RegistryAuth:
    """A container-registry credential of the account.

    ``private_host`` marks the registry whose images cannot be pulled without this auth.

    Example:
        >>> RegistryAuth("a" * 32, "r.example", "u", "p").to_api()["username"]
        'u'

    """

    id: str
    name: str
    username: str
    password: str
    private_host: str = ""

    def to_api(self) -> dict[str, str]:
        """Render as ``GET /repository/auths`` returns it (password in the clear, as live)."""
        return {
            "id": self.id,
            "name": self.name,
            "username": self.username,
            "password": self.password,
        }


@dataclass(frozen=True)
class Template:
    """An instance template.

    Example:
        >>> t = Template("1003", "Batch worker", "python:3.11-slim", rootfs_size=20)
        >>> t.to_api()["Id"]
        '1003'

    """

    id: str
    name: str
    image: str
    image_auth: str = ""
    start_command: str = ""
    rootfs_size: int = 60
    ports: tuple[tuple[str, tuple[int, ...]], ...] = ()
    envs: tuple[tuple[str, str], ...] = ()
    channel: str = "private"
    create_time: str = "1711995567"
    readme: str = ""
    min_cuda_version: str = ""

    def to_api(self) -> dict[str, Any]:
        """Render as ``GET /template`` returns it inside ``{"template": ...}``."""
        return {
            "Id": self.id,
            "user": "1032922317920824",
            "name": self.name,
            "readme": self.readme,
            "logo": "",
            "type": "instance",
            "channel": self.channel,
            "image": self.image,
            "imageAuth": self.image_auth,
            "startCommand": self.start_command,
            "entrypoint": "",
            "rootfsSize": self.rootfs_size,
            "volumes": [],
            "ports": [{"type": kind, "ports": list(ports)} for kind, ports in self.ports],
            "envs": [{"key": k, "value": v} for k, v in self.envs],
            "tools": [],
            "createTime": self.create_time,
            "recommendCards": [],
            "minCudaVersion": self.min_cuda_version,
        }


@dataclass
class Catalog:
    """Clusters (in priority order), products, templates and registry auths.

    Example:
        >>> from simulator.seed import build_catalog
        >>> cat = build_catalog()
        >>> [p.id for p in cat.find_products(cluster_id="us-ca-6", product_name="RTX 4090 24GB")]
        ['rtx4090-24g.us-ca-6', 'rtx4090-24g-b.us-ca-6']

    """

    clusters: list[Cluster]
    products: dict[str, Product]
    templates: dict[str, Template]
    registry_auths: list[RegistryAuth]
    _clusters_by_id: dict[str, Cluster] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self._clusters_by_id = {c.id: c for c in self.clusters}

    def cluster(self, cluster_id: str) -> Cluster | None:
        """Return the cluster with this id, or None."""
        return self._clusters_by_id.get(cluster_id)

    def clusters_api(self) -> list[dict[str, Any]]:
        """Render ``GET /clusters`` items; ``availableGpuType`` lists deployable names."""
        out = []
        for c in self.clusters:
            names: list[str] = []
            for p in self.products.values():
                if p.cluster_id == c.id and p.available and p.name not in names:
                    names.append(p.name)
            out.append(
                {
                    "id": c.id,
                    "name": c.name,
                    "availableGpuType": names,
                    "supportNetworkStorage": c.support_network_storage,
                    "supportInstanceNetwork": c.support_instance_network,
                }
            )
        return out

    def find_products(
        self,
        *,
        cluster_id: str = "",
        gpu_num: int = 0,
        product_name: str = "",
        billing_method: str = "",
        min_cpu_per_gpu: int = 0,
        min_memory_per_gpu: int = 0,
        min_rootfs_size: int = 0,
    ) -> list[Product]:
        """Filter products like ``GET /products`` does (fuzzy name, exact cluster)."""
        out = []
        for p in self.products.values():
            if cluster_id and p.cluster_id != cluster_id:
                continue
            if product_name and not fuzzy_contains(p.name, product_name):
                continue
            if billing_method and billing_method not in p.billing_methods:
                continue
            if gpu_num and p.available_gpu_number < gpu_num:
                continue
            if p.cpu_per_gpu < min_cpu_per_gpu or p.memory_per_gpu < min_memory_per_gpu:
                continue
            if min_rootfs_size and p.max_rootfs < min_rootfs_size:
                continue
            out.append(p)
        return out

    def region_label(self, cluster_id: str) -> str:
        """The cluster name as products spell it in ``regions``."""
        cluster = self._clusters_by_id.get(cluster_id)
        return cluster.label if cluster else cluster_id

    def private_auth_for(self, image_url: str) -> RegistryAuth | None:
        """The registry auth an image needs, when it lives in a private registry."""
        host = image_url.split("/", 1)[0] if "/" in image_url else ""
        for auth in self.registry_auths:
            if auth.private_host and host == auth.private_host:
                return auth
        return None

    def registry_auth(self, auth_id: str) -> RegistryAuth | None:
        """The registry auth with this id, or None."""
        return next((a for a in self.registry_auths if a.id == auth_id), None)
