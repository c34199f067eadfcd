"""Reading every page of instances and jobs, and never looping on a misbehaving server."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import httpx
import pytest
import respx

from clients.novita import NovitaClient, NovitaUnexpectedResponseError
from tests.client.novita_fakes import instance_item, make_client, make_router


@pytest.fixture
def router() -> respx.Router:
    return make_router()


@pytest.fixture
async def client(router: respx.Router) -> AsyncIterator[NovitaClient]:
    async with make_client(router) as novita:
        yield novita


def _ids(start: int, count: int) -> list[str]:
    return [f"{n:016x}" for n in range(start, start + count)]


def paged_server(
    ids: list[str], *, honour_page_num: bool = True, with_total: bool = True, cap: int | None = None
):
    """A fake /gpu/instances that pages `ids` like Novita (pageNum 0 and 1 = first page)."""

    def handler(request: httpx.Request) -> httpx.Response:
        size = int(request.url.params["pageSize"])
        if cap is not None:
            size = min(size, cap)
        page = max(int(request.url.params["pageNum"]), 1) if honour_page_num else 1
        chunk = ids[(page - 1) * size : page * size]
        body: dict[str, object] = {"instances": [instance_item(i) for i in chunk]}
        if with_total:
            body["total"] = len(ids)
        return httpx.Response(200, json=body)

    return handler


async def test_reads_three_pages(client: NovitaClient, router: respx.Router) -> None:
    ids = _ids(1, 25)
    route = router.get("/gpu/instances").mock(side_effect=paged_server(ids))
    instances = await client.list_instances(name="inst", status="running", page_size=10)
    assert [i.id for i in instances] == ids
    assert route.call_count == 3
    params = [dict(call.request.url.params) for call in route.calls]
    assert [p["pageNum"] for p in params] == ["1", "2", "3"]
    assert all(
        p["pageSize"] == "10" and p["name"] == "inst" and p["status"] == "running" for p in params
    )


async def test_exact_multiple_stops_on_total(client: NovitaClient, router: respx.Router) -> None:
    route = router.get("/gpu/instances").mock(side_effect=paged_server(_ids(1, 20)))
    assert len(await client.list_instances(page_size=10)) == 20
    assert route.call_count == 2


async def test_without_total_stops_on_short_or_empty_page(
    client: NovitaClient, router: respx.Router
) -> None:
    route = router.get("/gpu/instances").mock(
        side_effect=paged_server(_ids(1, 15), with_total=False)
    )
    assert len(await client.list_instances(page_size=10)) == 15
    assert route.call_count == 2
    route.reset()
    route.mock(side_effect=paged_server(_ids(1, 20), with_total=False))
    assert len(await client.list_instances(page_size=10)) == 20
    assert route.call_count == 3  # the third, empty page ends it


async def test_server_ignoring_page_num_does_not_loop(
    client: NovitaClient, router: respx.Router
) -> None:
    route = router.get("/gpu/instances").mock(
        side_effect=paged_server(_ids(1, 30), honour_page_num=False)
    )
    instances = await client.list_instances(page_size=10)
    assert [i.id for i in instances] == _ids(1, 10)  # no duplicates
    assert route.call_count == 2


async def test_server_capping_page_size_still_reads_everything(
    client: NovitaClient, router: respx.Router
) -> None:
    route = router.get("/gpu/instances").mock(side_effect=paged_server(_ids(1, 25), cap=10))
    instances = await client.list_instances(page_size=100)
    assert len(instances) == 25 and route.call_count == 3


async def test_hard_page_limit_on_endless_fresh_pages(
    client: NovitaClient, router: respx.Router
) -> None:
    # New ids on every page, no total, full pages forever: only max_pages stops it.
    fresh = iter(_ids(1, 1000))

    def endless(request: httpx.Request) -> httpx.Response:
        items = [instance_item(next(fresh)), instance_item(next(fresh))]
        return httpx.Response(200, json={"instances": items})

    route = router.get("/gpu/instances").mock(side_effect=endless)
    client.max_pages = 5
    assert len(await client.list_instances(page_size=2)) == 10
    assert route.call_count == 5


async def test_an_item_without_id_fails_the_listing_instead_of_vanishing(
    client: NovitaClient, router: respx.Router
) -> None:
    # Skipping it would tell fleet-sync that a managed machine is gone.
    router.get("/gpu/instances").respond(
        json={"instances": [instance_item("07ed667185a895bb"), {"name": "x"}], "total": 2}
    )
    with pytest.raises(NovitaUnexpectedResponseError) as info:
        await client.list_instances()
    assert "list instances" in str(info.value)
    assert "item 1 of 'instances' is not a valid Instance: id: Field required" in str(info.value)


async def test_iter_instance_pages_and_items(client: NovitaClient, router: respx.Router) -> None:
    router.get("/gpu/instances").mock(side_effect=paged_server(_ids(1, 25)))
    pages = [[i.id for i in page] async for page in client.iter_instance_pages(page_size=10)]
    assert [len(p) for p in pages] == [10, 10, 5]
    seen = [i.id async for i in client.iter_instances(page_size=10)]
    assert seen == _ids(1, 25)


async def test_iter_stops_fetching_when_caller_stops(
    client: NovitaClient, router: respx.Router
) -> None:
    route = router.get("/gpu/instances").mock(side_effect=paged_server(_ids(1, 25)))
    async for instance in client.iter_instances(page_size=10):
        assert instance.id == _ids(1, 1)[0]
        break
    assert route.call_count == 1


async def test_jobs_are_paged_too(client: NovitaClient, router: respx.Router) -> None:
    jobs = [
        {"Id": f"job-{n}", "type": "instanceMigrate", "state": {"state": "running"}}
        for n in range(7)
    ]

    def handler(request: httpx.Request) -> httpx.Response:
        size, page = int(request.url.params["pageSize"]), int(request.url.params["pageNum"])
        return httpx.Response(200, json={"jobs": jobs[(page - 1) * size : page * size], "total": 7})

    route = router.get("/jobs").mock(side_effect=handler)
    result = await client.list_jobs(type="instanceMigrate", page_size=3)
    assert [j.id for j in result] == [f"job-{n}" for n in range(7)]
    assert route.call_count == 3


async def test_page_size_must_be_positive(client: NovitaClient) -> None:
    with pytest.raises(ValueError):
        await client.list_instances(page_size=0)


async def test_pages_after_the_second_are_read_at_once_and_kept_in_order() -> None:
    ids = _ids(1, 1000)
    in_flight = peak = 0
    serve = paged_server(ids)

    async def slow_page(request: httpx.Request) -> httpx.Response:
        nonlocal in_flight, peak
        in_flight += 1
        peak = max(peak, in_flight)
        await asyncio.sleep(0.01)
        in_flight -= 1
        return serve(request)

    router = make_router()
    route = router.get("/gpu/instances").mock(side_effect=slow_page)
    async with make_client(router) as client:
        instances = await client.list_instances(page_size=10, page_concurrency=8)
        assert [i.id for i in instances] == ids
        assert route.call_count == 100  # ceil(N / page size): no page read twice
        assert peak == 8
        route.reset()
        peak = 0
        await client.list_instances(page_size=10, page_concurrency=1)
        assert route.call_count == 100 and peak == 1  # one after another
