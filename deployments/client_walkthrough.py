"""A scripted walk through the Novita client against the bundled simulator (no Prefect).

Starts the simulator in-process, then create → wait running → list → stop → delete, printing
each status the instance goes through. `python -m deployments.client_walkthrough`.
"""

from __future__ import annotations

import asyncio
import sys
import time

from clients.novita import (
    CreateInstanceRequest,
    InstanceStatus,
    NovitaClient,
    NovitaNotFoundError,
)
from simulator.server import SimulatorServer

SIMULATOR_SPEED = 4.0
POLL_SECONDS = 0.05


def say(message: str) -> None:
    """Print one line of the walkthrough, flushed so it shows up as it happens."""
    print(message, flush=True)


async def wait_for(
    client: NovitaClient, instance_id: str, wanted: set[InstanceStatus], within: float = 60.0
) -> str:
    """Poll until the instance reaches a wanted status, printing every status seen."""
    deadline = time.monotonic() + within
    last = ""
    while time.monotonic() < deadline:
        try:
            instance = await client.get_instance(instance_id)
        except NovitaNotFoundError:
            say(f"  {instance_id}: gone (404)")
            return "gone"
        if instance.status_raw != last:
            last = instance.status_raw
            say(f"  {instance_id}: {last}")
        if instance.status in wanted:
            return last
        await asyncio.sleep(POLL_SECONDS)
    raise TimeoutError(f"{instance_id} did not reach {sorted(wanted)} within {within} s")


async def walkthrough(base_url: str, api_key: str) -> None:
    """Create, wait, list, stop and delete one instance through the client."""
    async with NovitaClient(api_key=api_key, base_url=base_url) as client:
        clusters = await client.list_clusters()
        say(f"{len(clusters)} clusters: {', '.join(c.name for c in clusters)}")
        products = await client.list_products(
            cluster_id="us-ca-6", product_name="RTX 4090 24GB", billing_method="spot"
        )
        product = min(
            (p for p in products if p.name == "RTX 4090 24GB" and p.available_deploy),
            key=lambda p: p.spot_price or 0,
        )
        say(f"product {product.id}: ${product.spot_price_per_hour}/h spot in US-CA-06")
        template = await client.get_template("1001")
        request = CreateInstanceRequest(
            name="walkthrough-1",
            product_id=product.id,
            gpu_num=1,
            rootfs_size=template.rootfs_size or 60,
            image_url=template.image,
            cluster_id="us-ca-6",
            billing_mode="spot",
            ports=template.ports_spec(),
        )
        instance_id = await client.create_instance(request)
        say(f"created {instance_id} from template {template.name!r}")
        await wait_for(client, instance_id, {InstanceStatus.RUNNING})
        listed = await client.list_instances()
        say(f"list: {len(listed)} instance(s): {', '.join(f'{i.name}={i.status}' for i in listed)}")
        await client.stop_instance(instance_id)
        say(f"stop requested for {instance_id}")
        await wait_for(client, instance_id, {InstanceStatus.EXITED})
        await client.delete_instance(instance_id)
        say(f"delete requested for {instance_id}")
        await wait_for(client, instance_id, {InstanceStatus.REMOVED})
        say("walkthrough complete")


def main() -> int:
    """Serve the simulator in-process and run the walkthrough; exit 0 on success."""
    with SimulatorServer(speed=SIMULATOR_SPEED) as sim:
        say(f"simulator serving {sim.base_url} (speed x{SIMULATOR_SPEED:g})")
        asyncio.run(walkthrough(sim.base_url, sim.api_key))
    return 0


if __name__ == "__main__":
    sys.exit(main())
