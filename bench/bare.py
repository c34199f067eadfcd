"""The "bare script" baselines: the project's own Novita client and prober, no Prefect at all.

Each makes the SAME Novita calls as the project path it is compared with, so the difference
measures orchestration (Prefect runs, tasks, events, logs, the state store), not the cloud:

- `provision_one` = `provision-instance`: list by name, clusters, products of the regions in
  priority order until one offers the product, template, create, `GET /gpu/instance` polls
  until running, endpoint probes;
- `provision_bulk` = `provision-fleet`: one list of the account for every name, clusters and
  products once, template once, the creates `concurrency` at a time, ONE paginated list per
  poll for every machine, then the probes `concurrency` at a time.

Polls wait `poll_initial` seconds, doubling up to `poll_max`, exactly as the project's one
wait loop does with the same policies. Nothing is written anywhere: no store, no webhooks.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from clients.endpoint_prober import EndpointProber
from clients.novita import CreateInstanceRequest, Instance, NovitaClient, Product
from clients.novita.pacing import RateBudget, RequestPacer

T = TypeVar("T")

REGION_ORDER = (
    "AS-SGP-02",
    "CN-HK-01",
    "OC-AU-01",
    "US-CA-06",
    "US-WEST-01",
    "EU-DE-01",
    "EU-WEST-01",
    "AS-IN-01",
)
"""The default region priority of the design (section 5)."""

PROBE_ATTEMPTS = 10
"""What the project's `probe-endpoints` task passes to the prober."""


@dataclass(frozen=True)
class Waits:
    """Poll schedule: first wait, doubled up to the longest (the project's policies)."""

    poll_initial: float = 0.5
    poll_max: float = 2.0
    deadline: float = 600.0


@dataclass(frozen=True)
class Machine:
    """What to provision: the parameters the benchmarks give the flows."""

    product_name: str = "RTX 4090 24GB"
    template_id: str = "1001"
    billing_mode: str = "spot"
    gpu_num: int = 1
    rootfs_size: int = 60


def bare_client(api_key: str, base_url: str, rate_limit: str | None = None) -> NovitaClient:
    """The project's Novita client, paced by a plain per-process pacer when a budget is given.

    Example:
        ```python
        async with bare_client(key, url, "20/s") as client:
            await client.list_clusters()
        ```

    """
    if not rate_limit:
        return NovitaClient(api_key=api_key, base_url=base_url)
    pacer = RequestPacer(RateBudget.parse(rate_limit))

    async def slow_down(retry_after: float | None) -> None:
        pacer.pause(retry_after if retry_after is not None else 1.0)

    return NovitaClient(
        api_key=api_key,
        base_url=base_url,
        request_gate=pacer.wait_turn,
        on_rate_limited=slow_down,
    )


def _same_name(a: str, b: str) -> bool:
    return "".join(a.lower().split()) == "".join(b.lower().split())


def _price(product: Product, billing_mode: str) -> int:
    price = product.spot_price if billing_mode == "spot" else product.price
    return price if price is not None else 2**62


async def choose_product(client: NovitaClient, machine: Machine) -> tuple[str, Product]:
    """Clusters, then the products of each region in priority order until one is usable.

    Returns:
        The cluster id and the cheapest deployable product of that exact name there.

    """
    clusters = {c.name: c.id for c in await client.list_clusters()}
    for region in REGION_ORDER:
        cluster_id = clusters.get(region)
        if cluster_id is None:
            continue
        products = await client.list_products(
            cluster_id=cluster_id,
            product_name=machine.product_name,
            billing_method=machine.billing_mode,  # type: ignore[arg-type]
            gpu_num=machine.gpu_num,
        )
        usable = [
            p for p in products if _same_name(p.name, machine.product_name) and p.available_deploy
        ]
        if usable:
            best = min(usable, key=lambda p: (_price(p, machine.billing_mode), p.id))
            return cluster_id, best
    raise RuntimeError(f"no region offers {machine.product_name}")


def create_body(
    name: str, machine: Machine, cluster_id: str, product: Product, template: Any
) -> CreateInstanceRequest:
    """The create request the project would send for this machine."""
    return CreateInstanceRequest(
        name=name,
        product_id=product.id,
        gpu_num=machine.gpu_num,
        rootfs_size=machine.rootfs_size,
        image_url=template.image,
        cluster_id=cluster_id,
        billing_mode=machine.billing_mode,
        ports=template.ports_spec() or None,
        envs=template.envs,
        command=template.start_command or None,
    )


async def _poll(
    read: Callable[[], Awaitable[bool]], waits: Waits, started: float | None = None
) -> None:
    """Call `read` until it says done: first at once, then after 0.5, 1, 2, 2... seconds."""
    started = time.monotonic() if started is None else started
    wait = waits.poll_initial
    while not await read():
        if time.monotonic() - started > waits.deadline:
            raise TimeoutError("not running before the deadline")
        await asyncio.sleep(wait)
        wait = min(wait * 2, waits.poll_max)


async def probe(prober: EndpointProber, instance: Instance) -> bool:
    """Health-check every endpoint as the project's probe task does."""
    mappings = [m.model_dump(include={"port", "endpoint", "type"}) for m in instance.port_mappings]
    report = await prober.check_endpoints(mappings, attempts=PROBE_ATTEMPTS, deadline=600)
    return report.healthy


async def provision_one(
    client: NovitaClient,
    prober: EndpointProber,
    name: str,
    machine: Machine = Machine(),
    waits: Waits = Waits(),
) -> str:
    """One provisioning as `provision-instance` makes its calls; returns the instance id.

    Example:
        ```python
        async with bare_client(key, url) as client, EndpointProber() as prober:
            instance_id = await provision_one(client, prober, "bare-1")
        ```

    """
    same = [i for i in await client.list_instances(name=name) if i.name == name]
    if same:
        return same[0].id
    cluster_id, product = await choose_product(client, machine)
    template = await client.get_template(machine.template_id)
    instance_id = await client.create_instance(
        create_body(name, machine, cluster_id, product, template)
    )
    running: list[Instance] = []

    async def read() -> bool:
        instance = await client.get_instance(instance_id)
        if instance.status_raw == "running":
            running.append(instance)
            return True
        return False

    await _poll(read, waits)
    if not await probe(prober, running[0]):
        raise RuntimeError(f"{name} is running but not healthy")
    return instance_id


async def bounded(concurrency: int, jobs: Sequence[Callable[[], Awaitable[T]]]) -> list[T]:
    """Run `jobs`, at most `concurrency` at a time; results in order."""
    gate = asyncio.Semaphore(concurrency)

    async def run(job: Callable[[], Awaitable[T]]) -> T:
        async with gate:
            return await job()

    return list(await asyncio.gather(*(run(job) for job in jobs)))


async def provision_bulk(
    client: NovitaClient,
    prober: EndpointProber,
    names: Sequence[str],
    concurrency: int,
    wait_until_ready: bool = True,
    machine: Machine = Machine(),
    waits: Waits = Waits(),
) -> dict[str, int]:
    """A fleet as `provision-fleet` makes its calls; returns `{"ready", "created", "failed"}`.

    Example:
        ```python
        counts = await provision_bulk(client, prober, [f"m-{i}" for i in range(100)], 20)
        ```

    """
    listed = {i.name: i.id for i in await client.list_instances()}
    ids = {name: listed[name] for name in names if name in listed}
    cluster_id, product = await choose_product(client, machine)
    template = await client.get_template(machine.template_id)
    failed = 0

    def create_job(name: str) -> Callable[[], Awaitable[None]]:
        async def job() -> None:
            nonlocal failed
            try:
                body = create_body(name, machine, cluster_id, product, template)
                ids[name] = await client.create_instance(body)
            except Exception:
                failed += 1

        return job

    await bounded(concurrency, [create_job(n) for n in names if n not in ids])
    if not wait_until_ready:
        return {"ready": 0, "created": len(ids), "failed": failed}
    waiting = set(ids.values())
    running: dict[str, Instance] = {}

    async def read() -> bool:
        for instance in await client.list_instances():
            if instance.id in waiting and instance.status_raw == "running":
                running[instance.id] = instance
                waiting.discard(instance.id)
        return not waiting

    await _poll(read, waits)

    def probe_job(instance: Instance) -> Callable[[], Awaitable[bool]]:
        async def job() -> bool:
            return await probe(prober, instance)

        return job

    healthy = await bounded(concurrency, [probe_job(i) for i in running.values()])
    return {
        "ready": sum(healthy),
        "created": len(ids),
        "failed": failed + len(healthy) - sum(healthy),
    }
