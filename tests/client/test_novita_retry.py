"""The retry policy: what is retried, how long it waits, and what create refuses to repeat."""

from __future__ import annotations

import logging

import httpx
import pytest
import respx

from clients.novita import (
    CreateInstanceRequest,
    NovitaAuthenticationError,
    NovitaConnectionError,
    NovitaInvalidRequestError,
    NovitaNotFoundError,
    NovitaRateLimitError,
    NovitaServerError,
    NovitaTimeoutError,
    RetryPolicy,
    should_retry,
)
from clients.novita.errors import NovitaError
from tests.client.novita_fakes import (
    API_KEY,
    HTML_502,
    FakeSleep,
    envelope,
    make_client,
    make_router,
)

CLUSTERS = {"data": [{"id": "us-ca-6", "name": "US-CA-06"}]}
CREATE = CreateInstanceRequest(
    name="train-1", product_id="p", rootfs_size=20, image_url="img", cluster_id="us-ca-6"
)


@pytest.fixture
def router() -> respx.Router:
    return make_router()


@pytest.fixture
def sleep() -> FakeSleep:
    return FakeSleep()


async def test_429_with_retry_after_waits_exactly_that(
    router: respx.Router, sleep: FakeSleep
) -> None:
    route = router.get("/clusters").mock(
        side_effect=[
            httpx.Response(
                429, headers={"Retry-After": "3"}, json={"reason": "RATE_LIMIT_EXCEEDED"}
            ),
            httpx.Response(200, json=CLUSTERS),
        ]
    )
    async with make_client(router, sleep) as client:
        clusters = await client.list_clusters()
    assert [c.id for c in clusters] == ["us-ca-6"]
    assert route.call_count == 2
    assert sleep.waits == [3.0]


async def test_503_then_200_takes_two_calls_with_backoff(
    router: respx.Router, sleep: FakeSleep
) -> None:
    route = router.get("/clusters").mock(
        side_effect=[httpx.Response(503), httpx.Response(200, json=CLUSTERS)]
    )
    async with make_client(router, sleep, RetryPolicy(initial_wait=0.5, jitter=0)) as client:
        await client.list_clusters()
    assert route.call_count == 2
    assert sleep.waits == [0.5]


async def test_html_502_is_retried(router: respx.Router, sleep: FakeSleep) -> None:
    route = router.get("/gpu/instances").mock(
        side_effect=[
            httpx.Response(502, text=HTML_502, headers={"content-type": "text/html"}),
            httpx.Response(200, json={"instances": [], "total": 0}),
        ]
    )
    async with make_client(router, sleep) as client:
        assert await client.list_instances() == []
    assert route.call_count == 2


async def test_connect_error_is_retried(router: respx.Router, sleep: FakeSleep) -> None:
    route = router.get("/clusters").mock(
        side_effect=[httpx.ConnectError("refused"), httpx.Response(200, json=CLUSTERS)]
    )
    async with make_client(router, sleep) as client:
        await client.list_clusters()
    assert route.call_count == 2 and len(sleep.waits) == 1


async def test_read_timeout_on_a_read_is_retried(router: respx.Router, sleep: FakeSleep) -> None:
    route = router.get("/clusters").mock(
        side_effect=[httpx.ReadTimeout("slow"), httpx.Response(200, json=CLUSTERS)]
    )
    async with make_client(router, sleep) as client:
        await client.list_clusters()
    assert route.call_count == 2


@pytest.mark.parametrize(
    ("response", "cls"),
    [
        (envelope(400, "VALIDATOR_PARAM", "bad"), NovitaInvalidRequestError),
        (envelope(401, "UNAUTHORIZED", "no"), NovitaAuthenticationError),
        (envelope(404, "", "gone"), NovitaNotFoundError),
    ],
)
async def test_client_errors_are_not_retried(
    router: respx.Router, sleep: FakeSleep, response: httpx.Response, cls: type[NovitaError]
) -> None:
    route = router.post("/gpu/instance/stop").mock(return_value=response)
    async with make_client(router, sleep) as client:
        with pytest.raises(cls):
            await client.stop_instance("07ed667185a895bb")
    assert route.call_count == 1
    assert sleep.waits == []


async def test_gives_up_after_max_attempts_with_the_last_error(
    router: respx.Router, sleep: FakeSleep
) -> None:
    route = router.get("/clusters").mock(
        side_effect=[
            httpx.Response(500, json={"reason": "UNKNOWN", "message": "first"}),
            httpx.Response(500, json={"reason": "UNKNOWN", "message": "second"}),
            httpx.Response(503, json={"reason": "UNKNOWN", "message": "last"}),
            httpx.Response(200, json=CLUSTERS),
        ]
    )
    policy = RetryPolicy(max_attempts=3, initial_wait=1.0, multiplier=2.0, jitter=0)
    async with make_client(router, sleep, policy) as client:
        with pytest.raises(NovitaServerError) as info:
            await client.list_clusters()
    assert route.call_count == 3
    assert info.value.status_code == 503 and info.value.api_message == "last"
    assert info.value.attempts == 3 and "gave up after 3 attempts" in str(info.value)
    assert sleep.waits == [1.0, 2.0]


async def test_default_policy_makes_four_attempts_with_capped_backoff(
    router: respx.Router, sleep: FakeSleep
) -> None:
    route = router.get("/clusters").mock(return_value=httpx.Response(503))
    policy = RetryPolicy(initial_wait=10.0, max_wait=15.0, jitter=0)
    async with make_client(router, sleep, policy) as client:
        with pytest.raises(NovitaServerError):
            await client.list_clusters()
    assert route.call_count == 4
    assert sleep.waits == [10.0, 15.0, 15.0]


async def test_max_attempts_one_disables_retries(router: respx.Router, sleep: FakeSleep) -> None:
    route = router.get("/clusters").mock(return_value=httpx.Response(503))
    async with make_client(router, sleep, RetryPolicy(max_attempts=1)) as client:
        with pytest.raises(NovitaServerError):
            await client.list_clusters()
    assert route.call_count == 1 and sleep.waits == []


async def test_retry_after_beyond_cap_is_raised_at_once(
    router: respx.Router, sleep: FakeSleep
) -> None:
    route = router.get("/clusters").mock(
        return_value=httpx.Response(429, headers={"Retry-After": "3600"})
    )
    async with make_client(router, sleep, RetryPolicy(max_retry_after=60)) as client:
        with pytest.raises(NovitaRateLimitError) as info:
            await client.list_clusters()
    assert route.call_count == 1 and info.value.retry_after == 3600.0


async def test_retries_are_logged_without_secrets(
    router: respx.Router, sleep: FakeSleep, caplog: pytest.LogCaptureFixture
) -> None:
    router.get("/gpu/instance").mock(
        side_effect=[httpx.Response(503, text=API_KEY), httpx.Response(200, json={"id": "abc"})]
    )
    with caplog.at_level(logging.DEBUG, logger="clients.novita"):
        async with make_client(router, sleep) as client:
            await client.get_instance("abc")
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1
    assert "get instance" in warnings[0].getMessage()
    assert all(API_KEY not in r.getMessage() for r in caplog.records)


async def test_create_read_timeout_is_not_retried_and_says_it_may_exist(
    router: respx.Router, sleep: FakeSleep
) -> None:
    route = router.post("/gpu/instance/create").mock(side_effect=httpx.ReadTimeout("slow"))
    async with make_client(router, sleep) as client:
        with pytest.raises(NovitaTimeoutError) as info:
            await client.create_instance(CREATE)
    assert route.call_count == 1
    assert info.value.maybe_processed and not info.value.retryable
    assert "MAY have taken effect" in str(info.value)
    assert "'train-1' in cluster us-ca-6" in str(info.value)


@pytest.mark.parametrize("status", [500, 502, 504])
async def test_create_ambiguous_5xx_is_not_retried(
    router: respx.Router, sleep: FakeSleep, status: int
) -> None:
    route = router.post("/gpu/instance/create").mock(return_value=httpx.Response(status))
    async with make_client(router, sleep) as client:
        with pytest.raises(NovitaServerError) as info:
            await client.create_instance(CREATE)
    assert route.call_count == 1
    assert "MAY have taken effect" in str(info.value)
    assert not info.value.retryable


@pytest.mark.parametrize(
    "first",
    [
        httpx.ConnectError("refused"),
        httpx.ConnectTimeout("slow connect"),
        httpx.Response(503),
        httpx.Response(429, headers={"Retry-After": "1"}),
        httpx.Response(408),
    ],
)
async def test_create_is_retried_when_nothing_happened(
    router: respx.Router, sleep: FakeSleep, first: object
) -> None:
    route = router.post("/gpu/instance/create").mock(
        side_effect=[first, httpx.Response(200, json={"id": "3560b7fec915bbf9"})]
    )
    async with make_client(router, sleep) as client:
        assert await client.create_instance(CREATE) == "3560b7fec915bbf9"
    assert route.call_count == 2


async def test_connection_error_gives_up_as_connection_error(
    router: respx.Router, sleep: FakeSleep
) -> None:
    router.get("/clusters").mock(side_effect=httpx.ConnectError("refused"))
    async with make_client(router, sleep, RetryPolicy(max_attempts=2, jitter=0)) as client:
        with pytest.raises(NovitaConnectionError):
            await client.list_clusters()
    assert len(sleep.waits) == 1


def test_backoff_jitter_stays_in_bounds() -> None:
    policy = RetryPolicy(initial_wait=1.0, jitter=0.5, max_wait=100)
    assert policy.backoff(1, rng=lambda: 0.0) == 0.5
    assert policy.backoff(1, rng=lambda: 0.999999) == pytest.approx(1.5, rel=1e-5)
    assert policy.backoff(3, rng=lambda: 0.5) == 4.0


def test_should_retry_is_the_single_decision() -> None:
    assert should_retry(NovitaServerError(status_code=503))
    assert not should_retry(NovitaNotFoundError(status_code=404))
    assert not should_retry(ValueError("not ours"))
    ambiguous = NovitaServerError(status_code=502, maybe_processed=True)
    assert should_retry(ambiguous) and not should_retry(ambiguous, idempotent=False)


async def test_message_counts_the_requests_really_made(
    router: respx.Router, sleep: FakeSleep
) -> None:
    route = router.post("/gpu/instance/stop").mock(
        side_effect=[httpx.Response(503), httpx.Response(503), envelope(404, "", "gone")]
    )
    async with make_client(router, sleep) as client:
        with pytest.raises(NovitaNotFoundError) as info:
            await client.stop_instance("07ed667185a895bb")
    assert route.call_count == 3 == info.value.attempts
    # A final answer is not "giving up": the message says how many requests led to it.
    assert str(info.value).endswith("(after 3 attempts)")


async def test_a_single_attempt_says_nothing_about_attempts(
    router: respx.Router, sleep: FakeSleep
) -> None:
    router.get("/clusters").mock(return_value=envelope(400, "VALIDATOR_PARAM", "bad"))
    async with make_client(router, sleep) as client:
        with pytest.raises(NovitaInvalidRequestError) as info:
            await client.list_clusters()
    assert info.value.attempts == 1 and "attempts" not in str(info.value)
