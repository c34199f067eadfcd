"""The client against the real simulator over HTTP: every operation, quirks, errors, faults."""

from __future__ import annotations

from decimal import Decimal

import httpx
import pytest

from clients.novita import (
    CreateInstanceRequest,
    InstanceStatus,
    NovitaAuthenticationError,
    NovitaCapacityError,
    NovitaClient,
    NovitaInvalidRequestError,
    NovitaInvalidStateError,
    NovitaNotFoundError,
    NovitaRateLimitError,
    NovitaServerError,
    RetryPolicy,
)
from simulator.server import SimulatorServer

PYTORCH_TEMPLATE = "1001"
PRIVATE_TEMPLATE = "1002"


def spot_4090_request(name: str, cluster_id: str = "us-ca-6", **overrides) -> CreateInstanceRequest:
    fields = {
        "name": name,
        "product_id": f"rtx4090-24g.{cluster_id}",
        "gpu_num": 1,
        "rootfs_size": 60,
        "image_url": "novitalabs/pytorch:2.4.0-cuda12.4",
        "cluster_id": cluster_id,
        "billing_mode": "spot",
        "ports": "8888/http,22/tcp",
    }
    return CreateInstanceRequest(**(fields | overrides))


async def create_running(client: NovitaClient, sim: SimulatorServer, name: str) -> str:
    instance_id = await client.create_instance(spot_4090_request(name))
    sim.advance(10)
    return instance_id


async def test_clusters_are_the_eight_regions(client: NovitaClient) -> None:
    clusters = await client.list_clusters()
    assert [c.id for c in clusters] == [
        "as-sgp-2",
        "cn-hongkong-1",
        "oc-au-1",
        "us-ca-6",
        "us-west-1",
        "eu-de-1",
        "eu-west-1",
        "as-in-1",
    ]
    assert clusters[3].name == "US-CA-06"


async def test_products_parse_quirks_and_filter(client: NovitaClient) -> None:
    products = await client.list_products(
        cluster_id="us-ca-6", product_name="RTX 4090", billing_method="spot"
    )
    names = {p.name for p in products}
    assert names == {"RTX 4090 24GB", "RTX 4090D 24GB"}  # Novita's filter is fuzzy
    by_id = {p.id: p for p in products}
    cheapest_spot = by_id["rtx4090-24g-b.us-ca-6"]
    assert cheapest_spot.spot_price == 30000  # arrived as the string "30000"
    assert cheapest_spot.spot_price_per_hour == Decimal("0.3")
    assert cheapest_spot.price_per_hour == Decimal("0.64")
    assert cheapest_spot.regions == ["US-CA-06"]  # "US-CA-06 (California)" suffix stripped


async def test_create_get_list_walks_the_status_graph(
    client: NovitaClient, sim: SimulatorServer
) -> None:
    instance_id = await client.create_instance(spot_4090_request("graph-1"))
    assert len(instance_id) == 16 and int(instance_id, 16) >= 0
    seen = [(await client.get_instance(instance_id)).status]
    for _ in range(8):
        sim.advance(1)
        status = (await client.get_instance(instance_id)).status
        if status != seen[-1]:
            seen.append(status)
    assert seen == [
        InstanceStatus.TO_CREATE,
        InstanceStatus.CREATING,
        InstanceStatus.PULLING,
        InstanceStatus.RUNNING,
    ]
    instance = await client.get_instance(instance_id)
    assert instance.gpu_num == 1 and instance.cpu_num and instance.memory  # strings → ints
    assert instance.billing_mode == "spot" and instance.spot_reclaim_time is None
    assert instance.created_at is not None and instance.last_stopped_at is None
    assert {m.port for m in instance.port_mappings} == {8888, 22}

    await client.stop_instance(instance_id)
    sim.advance(5)
    assert (await client.get_instance(instance_id)).status == InstanceStatus.EXITED
    assert (await client.get_instance(instance_id)).last_stopped_at is not None

    await client.start_instance(instance_id)
    assert (await client.get_instance(instance_id)).status == InstanceStatus.TO_START
    sim.advance(10)
    assert (await client.get_instance(instance_id)).status == InstanceStatus.RUNNING

    await client.restart_instance(instance_id)
    assert (await client.get_instance(instance_id)).status == InstanceStatus.TO_RESTART
    sim.advance(5)
    assert (await client.get_instance(instance_id)).status == InstanceStatus.RUNNING

    listed = await client.list_instances(name="graph-1")
    assert [i.id for i in listed] == [instance_id]

    await client.delete_instance(instance_id)
    sim.advance(4)
    assert (await client.get_instance(instance_id)).status == InstanceStatus.REMOVED
    sim.advance(20)
    with pytest.raises(NovitaNotFoundError):
        await client.get_instance(instance_id)


async def test_illegal_transition_is_invalid_state(
    client: NovitaClient, sim: SimulatorServer
) -> None:
    instance_id = await create_running(client, sim, "illegal-1")
    with pytest.raises(NovitaInvalidStateError) as caught:
        await client.start_instance(instance_id)
    assert caught.value.status_code == 400
    assert "invalid state change" in (caught.value.api_message or "")


async def test_http_endpoint_answers_502_until_the_app_is_up(
    client: NovitaClient, sim: SimulatorServer
) -> None:
    instance_id = await client.create_instance(spot_4090_request("endpoint-1"))
    sim.advance(6.5)  # running, app still booting
    instance = await client.get_instance(instance_id)
    assert instance.status == InstanceStatus.RUNNING
    http = next(m for m in instance.port_mappings if m.type == "http")
    async with httpx.AsyncClient() as plain:
        booting = await plain.get(http.endpoint)
        sim.advance(5)
        up = await plain.get(http.endpoint)
    assert booting.status_code == 502 and "bad gateway" in booting.text.lower()
    assert up.status_code == 200


async def test_pagination_reads_every_page(client: NovitaClient, sim: SimulatorServer) -> None:
    for n in range(23):
        await client.create_instance(spot_4090_request(f"page-{n:02d}"))
    assert len(sim.requests(path="/gpu/instance/create")) == 23
    sim.clear_requests()
    listed = await client.list_instances(page_size=10)
    assert sorted(i.name for i in listed) == [f"page-{n:02d}" for n in range(23)]
    pages = [r["query"].get("pageNum") for r in sim.requests(path="/gpu/instances")]
    assert pages == ["1", "2", "3"]


async def test_template_and_registry_auths(client: NovitaClient) -> None:
    template = await client.get_template(PYTORCH_TEMPLATE)
    assert template.id == PYTORCH_TEMPLATE  # read from "Id"
    assert template.ports_spec() == "8888/http,7860/http,22/tcp"
    private = await client.get_template(PRIVATE_TEMPLATE)
    auth = await client.get_registry_auth(private.image_auth_id or "")
    assert auth.image_auth().get_secret_value() == "acme-puller:sim-registry-password"
    assert "sim-registry-password" not in repr(auth)
    with pytest.raises(NovitaNotFoundError):
        await client.get_template("999999")


async def test_private_image_needs_image_auth(client: NovitaClient, sim: SimulatorServer) -> None:
    private = await client.get_template(PRIVATE_TEMPLATE)
    request = spot_4090_request("private-1", image_url=private.image, ports="8080/http")
    with pytest.raises(NovitaInvalidRequestError) as caught:
        await client.create_instance(request)
    assert caught.value.reason == "IMAGE_URL_OR_AUTH_ERROR"
    auth = await client.get_registry_auth(private.image_auth_id or "")
    with_auth = request.model_copy(update={"image_auth": auth.image_auth()})
    instance_id = await client.create_instance(with_auth)
    assert instance_id
    body = sim.requests(path="/gpu/instance/create")[-1]["body"]
    assert body["imageAuth"] == "acme-puller:sim-registry-password"


async def test_validation_errors_name_the_field(client: NovitaClient) -> None:
    bad_rootfs = spot_4090_request("val-1", rootfs_size=5000)  # above the product's maxRootFS
    with pytest.raises(NovitaInvalidRequestError) as caught:
        await client.create_instance(bad_rootfs)
    assert "rootfs" in str(caught.value).lower()
    unknown = spot_4090_request("val-2", product_id="no-such-product")
    with pytest.raises(NovitaNotFoundError):
        await client.create_instance(unknown)


async def test_capacity_errors(client: NovitaClient, sim: SimulatorServer) -> None:
    sim.set_capacity("us-ca-6")
    with pytest.raises(NovitaCapacityError) as caught:
        await client.create_instance(spot_4090_request("cap-1"))
    assert caught.value.reason == "INSUFFICIENT_RESOURCE"
    assert caught.value.retryable is False
    # an undeployable product is a capacity error too
    with pytest.raises(NovitaCapacityError):
        await client.create_instance(spot_4090_request("cap-2", cluster_id="as-in-1"))
    # other clusters still work
    assert await client.create_instance(spot_4090_request("cap-3", cluster_id="us-west-1"))


async def test_start_after_capacity_is_gone(client: NovitaClient, sim: SimulatorServer) -> None:
    instance_id = await create_running(client, sim, "restart-cap")
    await client.stop_instance(instance_id)
    sim.advance(5)
    sim.set_capacity("us-ca-6")
    with pytest.raises(NovitaCapacityError):
        await client.start_instance(instance_id)


async def test_spot_reclaim_is_visible(client: NovitaClient, sim: SimulatorServer) -> None:
    instance_id = await create_running(client, sim, "reclaim-1")
    sim.reclaim_spot(instance_id, notice_seconds=5)
    notified = await client.get_instance(instance_id)
    assert notified.status == InstanceStatus.RUNNING
    assert notified.spot_status == "notified" and notified.spot_reclaim_time is not None
    sim.advance(30)
    reclaimed = await client.get_instance(instance_id)
    assert reclaimed.status == InstanceStatus.EXITED
    assert reclaimed.was_spot_reclaimed


async def test_migrate_success_and_failed_job(client: NovitaClient, sim: SimulatorServer) -> None:
    ok_id = await create_running(client, sim, "migrate-ok")
    bad_id = await create_running(client, sim, "migrate-bad")
    for instance_id in (ok_id, bad_id):
        sim.reclaim_spot(instance_id, immediate=True)
    sim.fail_migrations("job", instance_id=bad_id)
    await client.migrate_instance(ok_id)
    await client.migrate_instance(bad_id)
    assert (await client.get_instance(ok_id)).status == InstanceStatus.MIGRATING
    sim.advance(20)
    assert (await client.get_instance(ok_id)).status == InstanceStatus.RUNNING
    assert (await client.get_instance(bad_id)).status == InstanceStatus.EXITED
    jobs = {j.instance_id: j for j in await client.list_jobs(type="instanceMigrate")}
    assert jobs[ok_id].succeeded and jobs[bad_id].failed


async def test_migrate_error_is_capacity(client: NovitaClient, sim: SimulatorServer) -> None:
    instance_id = await create_running(client, sim, "migrate-err")
    sim.reclaim_spot(instance_id, immediate=True)
    sim.fail_migrations("error", instance_id=instance_id)
    with pytest.raises(NovitaCapacityError) as caught:
        await client.migrate_instance(instance_id)
    assert caught.value.reason == "MIGRATE_INSUFFICIENT_RESOURCE"


async def test_bad_key_is_authentication_error_without_the_key(sim: SimulatorServer) -> None:
    key = "sk_wrong_key_that_must_never_leak_0123"
    async with NovitaClient(api_key=key, base_url=sim.base_url) as bad:
        with pytest.raises(NovitaAuthenticationError) as caught:
            await bad.list_clusters()
    assert caught.value.status_code == 401
    assert key not in str(caught.value) and key not in repr(caught.value)


async def test_transient_faults_are_retried(client: NovitaClient, sim: SimulatorServer) -> None:
    sim.fail_requests(1, status=503, path="/clusters")
    assert len(await client.list_clusters()) == 8
    sim.rate_limit(1, retry_after=1, path="/clusters")
    assert len(await client.list_clusters()) == 8
    assert [r["status"] for r in sim.requests(path="/clusters")] == [503, 200, 429, 200]


async def test_persistent_faults_surface_the_right_error(sim: SimulatorServer) -> None:
    async with NovitaClient(
        api_key=sim.api_key, base_url=sim.base_url, retry_policy=RetryPolicy(max_attempts=1)
    ) as once:
        sim.fail_requests(1, status=502, path="/clusters")
        with pytest.raises(NovitaServerError):
            await once.list_clusters()
        sim.rate_limit(1, retry_after=7, path="/clusters")
        with pytest.raises(NovitaRateLimitError) as caught:
            await once.list_clusters()
    assert caught.value.retry_after == 7


async def test_hanging_request_times_out(sim: SimulatorServer) -> None:
    from clients.novita import NovitaTimeoutError

    async with NovitaClient(
        api_key=sim.api_key,
        base_url=sim.base_url,
        read_timeout=0.3,
        retry_policy=RetryPolicy(max_attempts=1),
    ) as impatient:
        sim.hang_requests(1, seconds=2, path="/clusters")
        with pytest.raises(NovitaTimeoutError):
            await impatient.list_clusters()
