"""The deterministic seed of the simulated account: what every test may rely on.

Nothing here is random; ``reset`` always returns to exactly this catalogue.

Clusters, in this order (= the default region priority of DESIGN.md §5)::

    as-sgp-2 AS-SGP-02 | cn-hongkong-1 CN-HK-01 | oc-au-1 OC-AU-01 | us-ca-6 US-CA-06 |
    us-west-1 US-WEST-01 | eu-de-1 EU-DE-01 | eu-west-1 EU-WEST-01 | as-in-1 AS-IN-01

Products of ``us-ca-6`` name their region ``"US-CA-06 (California)"`` (the live suffix
quirk); every other product names its cluster name plainly.

Product ids are ``<model-slug>.<clusterId>`` (``rtx4090-24g.as-sgp-2``), distinct per cluster.
Prices are integers in 1/100000 USD per GPU-hour; ``spotPrice`` is a string, and "0" for
products without spot. ``L40S 48GB`` never offers spot.

**RTX 4090 24GB** (onDemand ``price`` / ``spotPrice``; availableDeploy):

============== ============================ ========= ========= ===========
cluster        product id                   price     spot      deployable
============== ============================ ========= ========= ===========
as-sgp-2       rtx4090-24g.as-sgp-2         69000     "35000"   yes
cn-hongkong-1  rtx4090-24g.cn-hongkong-1    63000     "31000"   **no**
oc-au-1        rtx4090-24g.oc-au-1          72000     "36000"   yes
us-ca-6        rtx4090-24g.us-ca-6          61000     "34000"   yes
us-ca-6        rtx4090-24g-b.us-ca-6        64000     "30000"   yes
us-west-1      rtx4090-24g.us-west-1        67000     "32000"   yes
eu-de-1        rtx4090-24g.eu-de-1          70000     "35000"   yes
eu-west-1      (none: no RTX 4090 24GB)
as-in-1        rtx4090-24g.as-in-1          58000     "29000"   **no**
============== ============================ ========= ========= ===========

Key facts:

- Cheapest *deployable* RTX 4090 24GB, onDemand: us-ca-6, ``rtx4090-24g.us-ca-6`` at 61000.
- Cheapest *deployable* RTX 4090 24GB, spot: us-ca-6, ``rtx4090-24g-b.us-ca-6`` at "30000"
  (us-ca-6 holds two products of the same name: the cheaper onDemand one is not the
  cheaper spot one).
- The first-priority region AS-SGP-02 offers it at 69000 / "35000"; the cheapest listed
  prices overall (as-in-1 58000, cn-hongkong-1 63000) are not deployable.
- ``RTX 4090D 24GB`` is a cheaper lookalike in every cluster (e.g. 45000 / "23000" in
  as-sgp-2): ``productName=RTX 4090`` matches both, ``productName=RTX 4090 24GB`` only the
  real one.
- us-west-1 holds two ``RTX 5090 32GB`` at the same price (65000 / "33000"):
  ``rtx5090-32g.us-west-1`` (92 GB/GPU) and ``rtx5090-32g-b.us-west-1`` (100 GB/GPU, wins
  the "more memory" tie-break).
- ``H100 SXM 80GB`` in us-west-1 has ``availableGpuNumber`` 4 (gpuNum 5-8 → no capacity).
- Not deployable: RTX 4090 24GB in cn-hongkong-1 and as-in-1, A100 in us-ca-6, L40S in
  us-west-1. All products: ``minRootFS`` 10; ``maxRootFS`` 1000 except H100 (6144) and
  A100 (2000).

Templates (``GET /template?templateId=``):

- ``"1001"`` PyTorch 2.4 (official, public image ``novitalabs/pytorch:2.4.0-cuda12.4``):
  http 8888 + 7860, tcp 22, rootfsSize 60.
- ``"1002"`` Acme trainer (private image ``registry.acme.example/ml/trainer:1.3.0``):
  imageAuth = :data:`ACME_AUTH_ID`, http 8080, tcp 22, rootfsSize 80, env
  ``TRAINER_TOKEN`` = :data:`TRAINER_TOKEN` (a secret env value, fake).
- ``"1003"`` Batch worker (``python:3.11-slim``): no ports, rootfsSize 20.
- ``"1004"`` ComfyUI (``novitalabs/comfyui:latest``): http 8188, tcp 22, rootfsSize 100.

Registry auths (``GET /repository/auths``):

- :data:`ACME_AUTH_ID` ``registry.acme.example`` ``acme-puller`` / ``sim-registry-password``:
  creating from any ``registry.acme.example/...`` image needs ``imageAuth`` =
  ``"acme-puller:sim-registry-password"`` (or ``imageAuthId`` = this id).
- :data:`GHCR_AUTH_ID` ``ghcr.io`` ``octo-bot`` / ``sim-ghcr-token`` (not required by anything).
"""

from __future__ import annotations

from dataclasses import dataclass

from simulator.catalog import Catalog, Cluster, Product, RegistryAuth, Template

__all__ = [
    "ACME_AUTH_ID",
    "CLUSTER_IDS",
    "GHCR_AUTH_ID",
    "PRIVATE_IMAGE",
    "build_catalog",
]

ACME_AUTH_ID = "q7n3k9x2w5v8m1r4t6y0p2s5d8f1g3h7"
"""Registry auth of the private template ``1002``."""

GHCR_AUTH_ID = "z9y8x7w6v5u4t3s2r1q0p9o8n7m6l5k4"
"""A second, unrequired registry auth."""

PRIVATE_IMAGE = "registry.acme.example/ml/trainer:1.3.0"
"""The image of the private template ``1002``."""

TRAINER_TOKEN = "sim-trainer-token-7c1e2f"
"""A secret env value of template ``1002`` (fake): it must never be cached or stored."""

_CLUSTERS = (
    Cluster("as-sgp-2", "AS-SGP-02", True, True),
    Cluster("cn-hongkong-1", "CN-HK-01", True, False),
    Cluster("oc-au-1", "OC-AU-01", False, False),
    Cluster("us-ca-6", "US-CA-06", True, True, region_label="US-CA-06 (California)"),
    Cluster("us-west-1", "US-WEST-01", True, False),
    Cluster("eu-de-1", "EU-DE-01", True, True),
    Cluster("eu-west-1", "EU-WEST-01", False, False),
    Cluster("as-in-1", "AS-IN-01", False, False),
)

CLUSTER_IDS = tuple(c.id for c in _CLUSTERS)
"""Cluster ids in seed (= default priority) order."""

# name, slug, cpuPerGpu, memoryPerGpu, diskPerGpu, maxRootFS, spot-capable
_MODELS: dict[str, tuple[str, str, int, int, int, int, bool]] = {
    "4090": ("RTX 4090 24GB", "rtx4090-24g", 16, 62, 100, 1000, True),
    "4090D": ("RTX 4090D 24GB", "rtx4090d-24g", 12, 48, 100, 1000, True),
    "5090": ("RTX 5090 32GB", "rtx5090-32g", 16, 92, 150, 1000, True),
    "H100": ("H100 SXM 80GB", "h100-sxm-80g", 24, 240, 500, 6144, True),
    "A100": ("A100 SXM 80GB", "a100-sxm-80g", 12, 120, 400, 2000, True),
    "L40S": ("L40S 48GB", "l40s-48g", 16, 80, 200, 1000, False),
}


@dataclass(frozen=True)
class _Offer:
    """One row of the seed price table: a model offered in a cluster."""

    model: str
    price: int
    spot: int
    deployable: bool = True
    slug_suffix: str = ""
    memory_per_gpu: int | None = None
    available_gpu_number: int = 8
    inventory_state: str = "normal"


_OFFERS: dict[str, tuple[_Offer, ...]] = {
    "as-sgp-2": (
        _Offer("4090", 69000, 35000),
        _Offer("4090D", 45000, 23000),
        _Offer("5090", 66000, 33000),
        _Offer("H100", 152000, 76000),
        _Offer("A100", 110000, 55000),
        _Offer("L40S", 86000, 0),
    ),
    "cn-hongkong-1": (
        _Offer("4090", 63000, 31000, deployable=False),
        _Offer("4090D", 42000, 21000, inventory_state="low"),
        _Offer("5090", 64000, 32000),
        _Offer("A100", 105000, 52000),
    ),
    "oc-au-1": (
        _Offer("4090", 72000, 36000, inventory_state="high"),
        _Offer("4090D", 48000, 24000),
        _Offer("L40S", 90000, 0),
    ),
    "us-ca-6": (
        _Offer("4090", 61000, 34000),
        _Offer("4090", 64000, 30000, slug_suffix="-b"),
        _Offer("4090D", 40000, 20000),
        _Offer("5090", 63000, 32000),
        _Offer("H100", 145000, 73000),
        _Offer("A100", 99000, 50000, deployable=False),
        _Offer("L40S", 84000, 0),
    ),
    "us-west-1": (
        _Offer("4090", 67000, 32000),
        _Offer("4090D", 44000, 22000),
        _Offer("5090", 65000, 33000),
        _Offer("5090", 65000, 33000, slug_suffix="-b", memory_per_gpu=100),
        _Offer("H100", 149000, 75000, available_gpu_number=4, inventory_state="low"),
        _Offer("L40S", 85000, 0, deployable=False),
    ),
    "eu-de-1": (
        _Offer("4090", 70000, 35000),
        _Offer("4090D", 46000, 23000),
        _Offer("H100", 155000, 78000),
        _Offer("A100", 108000, 54000),
    ),
    "eu-west-1": (
        _Offer("4090D", 47000, 24000),
        _Offer("5090", 68000, 34000),
        _Offer("H100", 158000, 79000),
        _Offer("L40S", 88000, 0),
    ),
    "as-in-1": (
        _Offer("4090", 58000, 29000, deployable=False),
        _Offer("4090D", 39000, 19000),
        _Offer("A100", 98000, 49000),
    ),
}

_TEMPLATES = (
    Template(
        "1001",
        "PyTorch 2.4 CUDA 12.4",
        "novitalabs/pytorch:2.4.0-cuda12.4",
        rootfs_size=60,
        ports=(("http", (8888, 7860)), ("tcp", (22,))),
        envs=(("PYTHONUNBUFFERED", "1"),),
        channel="official",
        readme="JupyterLab on 8888, Gradio on 7860, SSH on 22.",
        min_cuda_version="12.4",
    ),
    Template(
        "1002",
        "Acme trainer (private)",
        PRIVATE_IMAGE,
        image_auth=ACME_AUTH_ID,
        start_command="python -m trainer.serve --port 8080",
        rootfs_size=80,
        ports=(("http", (8080,)), ("tcp", (22,))),
        envs=(("TRAINER_MODE", "serve"), ("TRAINER_TOKEN", TRAINER_TOKEN)),
        channel="private",
        create_time="1715000000",
    ),
    Template(
        "1003",
        "Batch worker",
        "python:3.11-slim",
        start_command="python -m worker",
        rootfs_size=20,
        channel="private",
        create_time="1716000000",
    ),
    Template(
        "1004",
        "ComfyUI",
        "novitalabs/comfyui:latest",
        rootfs_size=100,
        ports=(("http", (8188,)), ("tcp", (22,))),
        channel="official",
        create_time="1712000000",
    ),
)

_REGISTRY_AUTHS = (
    RegistryAuth(
        ACME_AUTH_ID,
        "registry.acme.example",
        "acme-puller",
        "sim-registry-password",
        private_host="registry.acme.example",
    ),
    RegistryAuth(GHCR_AUTH_ID, "ghcr.io", "octo-bot", "sim-ghcr-token"),
)


def _build_products() -> dict[str, Product]:
    products: dict[str, Product] = {}
    for cluster_id in CLUSTER_IDS:
        for offer in _OFFERS[cluster_id]:
            name, slug, cpu, mem, disk, max_rootfs, spot_capable = _MODELS[offer.model]
            product = Product(
                id=f"{slug}{offer.slug_suffix}.{cluster_id}",
                name=name,
                cluster_id=cluster_id,
                cpu_per_gpu=cpu,
                memory_per_gpu=offer.memory_per_gpu or mem,
                disk_per_gpu=disk,
                price=offer.price,
                spot_price=offer.spot if spot_capable else None,
                available=offer.deployable,
                max_rootfs=max_rootfs,
                available_gpu_number=offer.available_gpu_number,
                inventory_state=offer.inventory_state,
            )
            products[product.id] = product
    return products


def build_catalog() -> Catalog:
    """Build a fresh copy of the seed catalogue (mutable product availability).

    Example:
        >>> cat = build_catalog()
        >>> [c.id for c in cat.clusters][:2]
        ['as-sgp-2', 'cn-hongkong-1']
        >>> cat.products["rtx4090-24g-b.us-ca-6"].spot_price
        30000

    """
    return Catalog(
        clusters=list(_CLUSTERS),
        products=_build_products(),
        templates={t.id: t for t in _TEMPLATES},
        registry_auths=list(_REGISTRY_AUTHS),
    )
