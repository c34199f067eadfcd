"""An answer without its envelope, or with a wrong type where flows decide, is an error.

Never an empty list: an empty /gpu/instances tells fleet-sync that every managed machine is
gone. Novita's documented quirks (numbers as strings, "0" epochs, "" enums) stay accepted.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest
import respx

from clients.novita import NovitaClient, NovitaUnexpectedResponseError, RetryPolicy
from tests.client.novita_fakes import INSTANCE_DETAIL, instance_item, make_client, make_router

Call = Callable[[NovitaClient], Awaitable[Any]]

LISTS: list[tuple[str, str, str, Call]] = [
    ("/products", "data", "list products", lambda c: c.list_products()),
    ("/clusters", "data", "list clusters", lambda c: c.list_clusters()),
    ("/gpu/instances", "instances", "list instances", lambda c: c.list_instances()),
    ("/jobs", "jobs", "list jobs", lambda c: c.list_jobs()),
]
PRODUCT = {"id": "rtx4090.us-ca-6", "name": "RTX 4090 24GB", "price": 69000, "spotPrice": "30000"}


@pytest.fixture
def router() -> respx.Router:
    return make_router()


@pytest.fixture
async def client(router: respx.Router) -> AsyncIterator[NovitaClient]:
    async with make_client(router, retry_policy=RetryPolicy.disabled()) as novita:
        yield novita


@pytest.mark.parametrize(("path", "key", "operation", "call"), LISTS, ids=[x[0] for x in LISTS])
@pytest.mark.parametrize(
    ("body", "says"),
    [
        ({}, "has no '{key}' list; it has: no fields"),
        ({"foo": []}, "has no '{key}' list; it has: foo"),
        ([], "expected an object with a '{key}' list, got a list"),
        ({"{key}": {"a": 1}}, "'{key}' is dict, not a list"),
    ],
    ids=["empty-object", "other-key", "list", "object-for-list"],
)
async def test_missing_envelope_is_an_error_not_an_empty_list(
    client: NovitaClient,
    router: respx.Router,
    path: str,
    key: str,
    operation: str,
    call: Call,
    body: Any,
    says: str,
) -> None:
    if isinstance(body, dict):
        body = {k.format(key=key): v for k, v in body.items()}
    router.get(path).respond(json=body)
    with pytest.raises(NovitaUnexpectedResponseError) as info:
        await call(client)
    message = str(info.value)
    assert operation in message
    assert says.format(key=key) in message
    assert not info.value.retryable


@pytest.mark.parametrize(("path", "key", "operation", "call"), LISTS, ids=[x[0] for x in LISTS])
async def test_a_null_list_is_an_empty_answer(
    client: NovitaClient, router: respx.Router, path: str, key: str, operation: str, call: Call
) -> None:
    # Go encodes an empty slice as null; the key is there, so the envelope is right.
    router.get(path).respond(json={key: None, "total": 0})
    assert await call(client) == []


@pytest.mark.parametrize(
    ("product", "field"),
    [
        ({**PRODUCT, "price": "abc"}, "price"),
        ({**PRODUCT, "price": True}, "price"),
        ({**PRODUCT, "spotPrice": "cheap"}, "spotPrice"),
        ({**PRODUCT, "id": {}}, "id"),
        ({**PRODUCT, "id": ""}, "id"),
    ],
    ids=["price-text", "price-bool", "spot-text", "id-object", "id-empty"],
)
async def test_product_fields_a_choice_rests_on_are_checked(
    client: NovitaClient, router: respx.Router, product: dict[str, Any], field: str
) -> None:
    router.get("/products").respond(json={"data": [PRODUCT, product]})
    with pytest.raises(NovitaUnexpectedResponseError) as info:
        await client.list_products()
    assert "list products" in str(info.value) and "item 1" in str(info.value)
    assert f"is not a valid Product: {field}:" in str(info.value)


async def test_product_quirks_still_read(client: NovitaClient, router: respx.Router) -> None:
    quirky = {**PRODUCT, "price": "69000", "spotPrice": "0", "cpuPerGpu": "16", "memoryPerGpu": ""}
    router.get("/products").respond(json={"data": [quirky, {**PRODUCT, "price": None}]})
    first, second = await client.list_products()
    assert (first.price, first.spot_price, first.cpu_per_gpu, first.memory_per_gpu) == (
        69000,
        None,
        16,
        None,
    )
    assert second.price is None and second.spot_price == 30000


@pytest.mark.parametrize(
    ("override", "field"),
    [
        ({"id": {}}, "id"),
        ({"status": {"state": "running"}}, "status"),
        ({"status": 3}, "status"),
        ({"clusterId": ["us-ca-6"]}, "clusterId"),
        ({"clusterId": True}, "clusterId"),
    ],
    ids=["id-object", "status-object", "status-number", "cluster-list", "cluster-bool"],
)
async def test_instance_fields_flows_depend_on_are_checked(
    client: NovitaClient, router: respx.Router, override: dict[str, Any], field: str
) -> None:
    router.get("/gpu/instances").respond(
        json={"instances": [instance_item("07ed667185a895bb", **override)], "total": 1}
    )
    with pytest.raises(NovitaUnexpectedResponseError) as info:
        await client.list_instances()
    assert f"is not a valid Instance: {field}:" in str(info.value)
    router.get("/gpu/instance").respond(json={**INSTANCE_DETAIL, **override})
    with pytest.raises(NovitaUnexpectedResponseError) as info:
        await client.get_instance("07ed667185a895bb")
    assert f"Instance did not match: {field}:" in str(info.value)


async def test_instance_display_fields_stay_lenient(
    client: NovitaClient, router: respx.Router
) -> None:
    item = instance_item(
        "07ed667185a895bb", status="hibernating", clusterId=6, productName=4090, createdAt="0"
    )
    router.get("/gpu/instances").respond(json={"instances": [item], "total": 1})
    (instance,) = await client.list_instances()
    assert instance.status_raw == "hibernating" and instance.cluster_id == "6"
    assert instance.product_name == "4090" and instance.created_at is None


async def test_cluster_and_job_ids_are_checked(client: NovitaClient, router: respx.Router) -> None:
    router.get("/clusters").respond(json={"data": [{"id": {"x": 1}, "name": "US-CA-06"}]})
    with pytest.raises(NovitaUnexpectedResponseError, match="not a valid Cluster: id:"):
        await client.list_clusters()
    router.get("/jobs").respond(json={"jobs": [{"type": "instanceMigrate"}], "total": 1})
    with pytest.raises(NovitaUnexpectedResponseError, match="not a valid Job: Id:"):
        await client.list_jobs()
