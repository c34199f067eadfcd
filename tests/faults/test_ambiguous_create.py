"""The create task after an ambiguous error (500/502/504, read timeout): look up, then act.

Found under its name in that cluster: it is the instance this create made (one machine).
Not found (twice, a moment apart): Novita did not act, so the create is made again while
fewer create requests than the client's budget (4 attempts) were sent; never a blind retry.
Before this rule the task raised the ambiguous error even when the lookup proved nothing was
created, and up to one provisioning in five failed for nothing under a 20 % 5xx storm (see
test_transient_faults.py).
"""

from __future__ import annotations

import httpx
import pytest
import respx

from clients.novita import CreateInstanceRequest, NovitaServerError
from tasks import novita_actions
from tasks.novita_actions import create_instance
from tests.client.novita_fakes import FakeSleep, make_client, make_router

pytestmark = [pytest.mark.faults, pytest.mark.integration]

REQUEST = CreateInstanceRequest(
    name="train-1",
    product_id="rtx4090-24g.us-ca-6",
    rootfs_size=60,
    image_url="pytorch/pytorch:latest",
    cluster_id="us-ca-6",
)
CREATED = httpx.Response(200, json={"id": "3560b7fec915bbf9"})


def listing(*instances: dict[str, str]) -> httpx.Response:
    return httpx.Response(200, json={"instances": list(instances), "total": len(instances)})


def instance(iid: str, name: str = "train-1", cluster: str = "us-ca-6") -> dict[str, str]:
    return {"id": iid, "name": name, "clusterId": cluster, "status": "toCreate"}


@pytest.fixture(autouse=True)
def no_settle_wait(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(novita_actions, "LOOKUP_SETTLE_SECONDS", 0.0)


@pytest.fixture
def router() -> respx.Router:
    return make_router()


@pytest.mark.parametrize("status", [500, 502, 504])
async def test_ambiguous_error_and_nothing_listed_creates_again(
    router: respx.Router, status: int
) -> None:
    create = router.post("/gpu/instance/create").mock(side_effect=[httpx.Response(status), CREATED])
    lookup = router.get("/gpu/instances").mock(return_value=listing())
    async with make_client(router, FakeSleep()) as client:
        created = await create_instance.fn(client, REQUEST)

    assert created.instance_id == "3560b7fec915bbf9" and not created.found_after_error
    assert create.call_count == 2
    assert lookup.call_count == 2  # looked up twice, a moment apart, before creating again


async def test_ambiguous_error_and_instance_listed_adopts_it(router: respx.Router) -> None:
    create = router.post("/gpu/instance/create").mock(return_value=httpx.Response(502))
    router.get("/gpu/instances").mock(
        side_effect=[
            listing(instance("aaaaaaaaaaaaaaaa", name="train-10")),  # fuzzy filter: not ours
            listing(instance("bbbbbbbbbbbbbbbb", cluster="as-sgp-2"), instance("cafe0000cafe0000")),
        ]
    )
    async with make_client(router, FakeSleep()) as client:
        created = await create_instance.fn(client, REQUEST)

    assert created.instance_id == "cafe0000cafe0000" and created.found_after_error
    assert create.call_count == 1


async def test_ambiguous_every_time_gives_up_after_the_last_try(router: respx.Router) -> None:
    create = router.post("/gpu/instance/create").mock(return_value=httpx.Response(500))
    router.get("/gpu/instances").mock(return_value=listing())
    async with make_client(router, FakeSleep()) as client:
        with pytest.raises(NovitaServerError) as caught:
            await create_instance.fn(client, REQUEST)

    assert create.call_count == 4  # the client's budget of attempts, never more
    assert "MAY have taken effect" in str(caught.value)


async def test_an_error_proving_nothing_happened_is_not_looked_up(router: respx.Router) -> None:
    create = router.post("/gpu/instance/create").mock(
        return_value=httpx.Response(
            400, json={"code": 400, "reason": "VALIDATOR_PARAM", "message": "gpuNum: bad"}
        )
    )
    lookup = router.get("/gpu/instances").mock(return_value=listing())
    async with make_client(router, FakeSleep()) as client:
        with pytest.raises(Exception, match="gpuNum"):
            await create_instance.fn(client, REQUEST)

    assert (create.call_count, lookup.call_count) == (1, 0)


async def test_503_is_the_clients_to_retry_never_looked_up(router: respx.Router) -> None:
    create = router.post("/gpu/instance/create").mock(return_value=httpx.Response(503))
    lookup = router.get("/gpu/instances").mock(return_value=listing())
    async with make_client(router, FakeSleep()) as client:
        with pytest.raises(NovitaServerError):
            await create_instance.fn(client, REQUEST)

    assert (create.call_count, lookup.call_count) == (4, 0)  # the client's budget, once


async def test_a_re_create_and_its_own_safe_retries_share_the_budget(router: respx.Router) -> None:
    create = router.post("/gpu/instance/create").mock(
        side_effect=[httpx.Response(504), httpx.Response(503), httpx.Response(503), CREATED]
    )
    router.get("/gpu/instances").mock(return_value=listing())
    async with make_client(router, FakeSleep()) as client:
        created = await create_instance.fn(client, REQUEST)

    assert created.instance_id == "3560b7fec915bbf9" and create.call_count == 4
