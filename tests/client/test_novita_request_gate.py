"""The hooks a shared rate limiter plugs into: a gate before every attempt, a 429 listener."""

from __future__ import annotations

import httpx
import pytest
import respx

from clients.novita import NovitaRateLimitError, NovitaServerError, RetryPolicy
from tests.client.novita_fakes import FakeSleep, make_client, make_router

CLUSTERS = {"data": [{"id": "us-ca-6", "name": "US-CA-06"}]}


class CountingGate:
    def __init__(self, router: respx.Router | None = None) -> None:
        self.passes = 0
        self.requests_seen_at_pass: list[int] = []
        self._router = router

    async def __call__(self) -> None:
        self.passes += 1
        if self._router is not None:
            self.requests_seen_at_pass.append(len(self._router.calls))


async def test_gate_is_awaited_once_before_every_attempt_retries_included() -> None:
    router = make_router()
    route = router.get("/clusters").mock(
        side_effect=[httpx.Response(503), httpx.Response(502), httpx.Response(200, json=CLUSTERS)]
    )
    gate = CountingGate(router)
    async with make_client(router, request_gate=gate) as client:
        await client.list_clusters()
    assert route.call_count == 3 and gate.passes == 3
    # Each pass happened before its request was sent, not after.
    assert gate.requests_seen_at_pass == [0, 1, 2]


async def test_gate_counts_attempts_of_a_failing_call_too() -> None:
    router = make_router()
    router.get("/clusters").mock(return_value=httpx.Response(503))
    gate = CountingGate()
    policy = RetryPolicy(max_attempts=3, jitter=0)
    async with make_client(router, retry_policy=policy, request_gate=gate) as client:
        with pytest.raises(NovitaServerError):
            await client.list_clusters()
    assert gate.passes == 3


async def test_a_closed_gate_stops_the_call_before_any_request() -> None:
    router = make_router()
    route = router.get("/clusters").respond(json=CLUSTERS)

    async def refuse() -> None:
        raise RuntimeError("rate limit slot not granted")

    async with make_client(router, request_gate=refuse) as client:
        with pytest.raises(RuntimeError, match="not granted"):
            await client.list_clusters()
    assert route.call_count == 0


async def test_429_tells_the_listener_its_retry_after() -> None:
    router = make_router()
    router.get("/clusters").mock(
        side_effect=[
            httpx.Response(429, headers={"Retry-After": "3"}),
            httpx.Response(429),
            httpx.Response(200, json=CLUSTERS),
        ]
    )
    heard: list[float | None] = []

    async def listener(retry_after: float | None) -> None:
        heard.append(retry_after)

    sleep = FakeSleep()
    async with make_client(router, sleep, on_rate_limited=listener) as client:
        await client.list_clusters()
    assert heard == [3.0, None]


async def test_a_failing_listener_does_not_hide_the_429() -> None:
    router = make_router()
    router.get("/clusters").mock(return_value=httpx.Response(429, headers={"Retry-After": "1"}))

    async def broken(retry_after: float | None) -> None:
        raise ConnectionError("limiter backend down")

    async with make_client(
        router, retry_policy=RetryPolicy.disabled(), on_rate_limited=broken
    ) as client:
        with pytest.raises(NovitaRateLimitError) as info:
            await client.list_clusters()
    assert info.value.retry_after == 1.0


async def test_no_listener_call_for_other_errors() -> None:
    router = make_router()
    router.get("/clusters").mock(return_value=httpx.Response(503))
    heard: list[float | None] = []

    async def listener(retry_after: float | None) -> None:
        heard.append(retry_after)

    async with make_client(
        router, retry_policy=RetryPolicy.disabled(), on_rate_limited=listener
    ) as client:
        with pytest.raises(NovitaServerError):
            await client.list_clusters()
    assert heard == []
