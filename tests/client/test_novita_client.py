"""Every NovitaClient operation: the request it sends and how it reads the answer."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator

import httpx
import pytest
import respx
from pydantic import SecretStr

from clients.novita import (
    DEFAULT_BASE_URL,
    CreateInstanceRequest,
    InstanceStatus,
    NovitaClient,
    NovitaNotFoundError,
    NovitaUnexpectedResponseError,
)
from tests.client.novita_fakes import API_KEY, BASE_URL, INSTANCE_DETAIL, make_client, make_router


@pytest.fixture
def router() -> respx.Router:
    return make_router()


@pytest.fixture
async def client(router: respx.Router) -> AsyncIterator[NovitaClient]:
    async with make_client(router) as novita:
        yield novita


def _only_call(route: respx.Route) -> httpx.Request:
    assert route.call_count == 1
    return route.calls.last.request


async def test_headers_carry_bearer_key_and_json(
    client: NovitaClient, router: respx.Router
) -> None:
    route = router.get("/clusters").respond(json={"data": []})
    await client.list_clusters()
    request = _only_call(route)
    assert request.headers["Authorization"] == f"Bearer {API_KEY}"
    assert request.headers["Content-Type"] == "application/json"
    assert str(request.url) == f"{BASE_URL}/clusters"


async def test_list_clusters(client: NovitaClient, router: respx.Router) -> None:
    route = router.get("/clusters").respond(
        json={
            "data": [
                {
                    "id": "us-ca-6",
                    "name": "US-CA-06",
                    "availableGpuType": ["RTX 4090 24GB"],
                    "supportNetworkStorage": True,
                    "supportInstanceNetwork": False,
                }
            ]
        }
    )
    clusters = await client.list_clusters()
    assert _only_call(route).method == "GET"
    assert [(c.id, c.name, c.available_gpu_types) for c in clusters] == [
        ("us-ca-6", "US-CA-06", ["RTX 4090 24GB"])
    ]


async def test_list_products_sends_camel_case_query_and_omits_none(
    client: NovitaClient, router: respx.Router
) -> None:
    route = router.get("/products").respond(
        json={
            "data": [
                {
                    "id": "p1",
                    "name": "RTX 4090 24GB",
                    "price": 67000,
                    "spotPrice": "34000",
                    "regions": ["US-CA-06 (California)"],
                    "availableDeploy": True,
                }
            ]
        }
    )
    products = await client.list_products(
        cluster_id="us-ca-6",
        gpu_num=1,
        product_name="RTX 4090 24GB",
        billing_method="spot",
        min_rootfs_size=50,
    )
    assert dict(_only_call(route).url.params) == {
        "clusterId": "us-ca-6",
        "gpuNum": "1",
        "productName": "RTX 4090 24GB",
        "billingMethod": "spot",
        "minRootFSSize": "50",
    }
    assert products[0].spot_price == 34000 and products[0].regions == ["US-CA-06"]

    await client.list_products(min_cpu_per_gpu=8, min_memory_per_gpu=32)
    assert dict(route.calls.last.request.url.params) == {
        "minCpuPerGpu": "8",
        "minMemoryPerGpu": "32",
    }


async def test_get_instance(client: NovitaClient, router: respx.Router) -> None:
    route = router.get("/gpu/instance").respond(json=INSTANCE_DETAIL)
    instance = await client.get_instance("07ed667185a895bb")
    assert dict(_only_call(route).url.params) == {"instanceId": "07ed667185a895bb"}
    assert instance.id == "07ed667185a895bb"
    assert instance.status is InstanceStatus.RUNNING
    assert instance.gpu_num == 1


async def test_get_instance_404_is_not_found(client: NovitaClient, router: respx.Router) -> None:
    router.get("/gpu/instance").respond(
        404, json={"code": 404, "reason": "", "message": "not found"}
    )
    with pytest.raises(NovitaNotFoundError) as info:
        await client.get_instance("07ed667185a895bb")
    assert "07ed667185a895bb" in str(info.value)


async def test_get_instance_rejects_empty_id(client: NovitaClient) -> None:
    with pytest.raises(ValueError):
        await client.get_instance(" ")


async def test_get_instance_with_wrong_shape_is_unexpected(
    client: NovitaClient, router: respx.Router
) -> None:
    router.get("/gpu/instance").respond(json={"status": "running"})
    with pytest.raises(NovitaUnexpectedResponseError):
        await client.get_instance("07ed667185a895bb")


async def test_create_instance_posts_exact_body(client: NovitaClient, router: respx.Router) -> None:
    route = router.post("/gpu/instance/create").respond(json={"id": "3560b7fec915bbf9"})
    request = CreateInstanceRequest(
        name="train-1",
        product_id="prod-4090",
        gpu_num=1,
        rootfs_size=60,
        image_url="ghcr.io/acme/train:1",
        cluster_id="us-ca-6",
        billing_mode="onDemand",
        ports="8888/http,22/tcp",
        image_auth=SecretStr("bot:reg-pass-SECRET"),
    )
    instance_id = await client.create_instance(request)
    sent = _only_call(route)
    assert sent.method == "POST"
    assert json.loads(sent.content) == {
        "name": "train-1",
        "productId": "prod-4090",
        "gpuNum": 1,
        "rootfsSize": 60,
        "imageUrl": "ghcr.io/acme/train:1",
        "clusterId": "us-ca-6",
        "billingMode": "onDemand",
        "ports": "8888/http,22/tcp",
        "envs": [],
        "imageAuth": "bot:reg-pass-SECRET",
        "kind": "gpu",
    }
    assert instance_id == "3560b7fec915bbf9"


async def test_create_instance_without_id_says_it_may_exist(
    client: NovitaClient, router: respx.Router
) -> None:
    route = router.post("/gpu/instance/create").respond(json={})
    request = CreateInstanceRequest(name="x", product_id="p", rootfs_size=20, image_url="img")
    with pytest.raises(NovitaUnexpectedResponseError) as info:
        await client.create_instance(request)
    assert route.call_count == 1
    assert "MAY have taken effect" in str(info.value)


@pytest.mark.parametrize(
    ("action", "answer", "state"),
    [
        ("start", {"instanceId": "07ed667185a895bb", "state": "toStart"}, "toStart"),
        ("stop", {"instanceId": "07ed667185a895bb", "state": "toStop"}, "toStop"),
        ("restart", {}, None),
        ("delete", {}, None),
        ("migrate", {}, None),
    ],
)
async def test_instance_actions(
    client: NovitaClient,
    router: respx.Router,
    action: str,
    answer: dict[str, str],
    state: str | None,
) -> None:
    route = router.post(f"/gpu/instance/{action}").respond(json=answer)
    result = await getattr(client, f"{action}_instance")("07ed667185a895bb")
    sent = _only_call(route)
    assert sent.method == "POST"
    assert json.loads(sent.content) == {"instanceId": "07ed667185a895bb"}
    assert result.instance_id == "07ed667185a895bb"
    assert result.state == state


async def test_instance_action_with_empty_body(client: NovitaClient, router: respx.Router) -> None:
    router.post("/gpu/instance/delete").respond(200, content=b"")
    result = await client.delete_instance("07ed667185a895bb")
    assert result.instance_id == "07ed667185a895bb"


async def test_list_jobs(client: NovitaClient, router: respx.Router) -> None:
    route = router.get("/jobs").respond(
        json={
            "jobs": [
                {
                    "Id": "job-1",
                    "type": "instanceMigrate",
                    "state": {"state": "success", "error": "", "message": ""},
                    "instanceId": "07ed667185a895bb",
                    "createdAt": "1768435200",
                }
            ],
            "total": 1,
        }
    )
    jobs = await client.list_jobs(type="instanceMigrate", state="success", page_size=50)
    assert dict(_only_call(route).url.params) == {
        "type": "instanceMigrate",
        "state": "success",
        "pageSize": "50",
        "pageNum": "1",
    }
    assert [(j.id, j.succeeded, j.instance_id) for j in jobs] == [
        ("job-1", True, "07ed667185a895bb")
    ]


async def test_get_template(client: NovitaClient, router: respx.Router) -> None:
    route = router.get("/template").respond(
        json={
            "template": {
                "Id": "100",
                "name": "comfy",
                "image": "ghcr.io/acme/comfy:1",
                "imageAuth": "75irlsvvsehnqdajg2r481mjk54ecodc",
                "startCommand": "",
                "rootfsSize": 60,
                "ports": [{"type": "http", "ports": [8188]}],
                "envs": [],
            }
        }
    )
    template = await client.get_template(100)
    assert dict(_only_call(route).url.params) == {"templateId": "100"}
    assert template.id == "100"
    assert template.image_auth_id == "75irlsvvsehnqdajg2r481mjk54ecodc"
    assert template.start_command is None
    assert template.ports_spec() == "8188/http"


async def test_get_template_not_found(client: NovitaClient, router: respx.Router) -> None:
    router.get("/template").respond(
        400, json={"code": 400, "reason": "TEMPLATE_NOT_FOUND", "message": "template not found"}
    )
    with pytest.raises(NovitaNotFoundError) as info:
        await client.get_template("999")
    assert info.value.reason == "TEMPLATE_NOT_FOUND"


async def test_registry_auths(client: NovitaClient, router: respx.Router) -> None:
    route = router.get("/repository/auths").respond(
        json={
            "data": [
                {
                    "id": "75irlsvvsehnqdajg2r481mjk54ecodc",
                    "name": "ghcr.io",
                    "username": "bot",
                    "password": "reg-pass-SECRET",
                }
            ]
        }
    )
    auths = await client.list_registry_auths()
    assert _only_call(route).method == "GET"
    assert auths[0].image_auth().get_secret_value() == "bot:reg-pass-SECRET"
    assert "reg-pass-SECRET" not in repr(auths)
    found = await client.get_registry_auth("75irlsvvsehnqdajg2r481mjk54ecodc")
    assert found.name == "ghcr.io"
    with pytest.raises(NovitaNotFoundError):
        await client.get_registry_auth("missing")


async def test_malformed_list_item_fails_the_answer_naming_item_and_field(
    client: NovitaClient, router: respx.Router
) -> None:
    router.get("/clusters").respond(
        json={"data": [{"id": "us-ca-6", "name": "US-CA-06"}, {"name": "no id"}]}
    )
    with pytest.raises(NovitaUnexpectedResponseError) as info:
        await client.list_clusters()
    assert "list clusters" in str(info.value)
    assert "item 1 of 'data' is not a valid Cluster: id: Field required" in str(info.value)


async def test_non_json_success_body_is_unexpected(
    client: NovitaClient, router: respx.Router
) -> None:
    router.get("/clusters").respond(200, text="<html>captive portal</html>")
    with pytest.raises(NovitaUnexpectedResponseError):
        await client.list_clusters()


async def test_client_repr_and_key_types() -> None:
    router = make_router()
    router.get("/clusters").respond(json={"data": []})
    transport = httpx.MockTransport(router.async_handler)
    for key in (API_KEY, SecretStr(API_KEY), f"  {API_KEY}\n"):
        novita = NovitaClient(api_key=key, base_url=BASE_URL + "/", transport=transport)
        assert API_KEY not in repr(novita) and API_KEY not in str(novita)
        await novita.list_clusters()
        assert router.calls.last.request.headers["Authorization"] == f"Bearer {API_KEY}"
        await novita.aclose()
        assert novita.is_closed
    with pytest.raises(ValueError):
        NovitaClient(api_key="  ")


async def test_default_base_url_and_timeouts() -> None:
    novita = NovitaClient(api_key=API_KEY)
    assert novita.base_url == DEFAULT_BASE_URL
    assert novita.timeout.connect == 5.0 and novita.timeout.read == 30.0
    custom = NovitaClient(api_key=API_KEY, timeout=httpx.Timeout(10.0, connect=2.0))
    assert custom.timeout.connect == 2.0
    tuned = NovitaClient(api_key=API_KEY, connect_timeout=1.0, read_timeout=90.0)
    assert tuned.timeout.connect == 1.0 and tuned.timeout.read == 90.0
    await tuned.aclose()
    async with novita, custom:
        pass
    assert novita.is_closed and custom.is_closed


async def test_concurrent_calls_share_the_client(
    client: NovitaClient, router: respx.Router
) -> None:
    route = router.get("/gpu/instance").respond(json=INSTANCE_DETAIL)
    results = await asyncio.gather(*(client.get_instance(f"id{i:014d}") for i in range(10)))
    assert route.call_count == 10 and len(results) == 10
