"""Every Novita call is bounded: an overall deadline per attempt, a body-size limit, a budget.

The slow and huge answers come from a real local server over a real socket: httpx's own
per-read timeouts and in-memory bodies are exactly what these limits exist to get around.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import httpx
import pytest
import respx

from clients.novita import (
    NovitaClient,
    NovitaDeadlineExceededError,
    NovitaResponseTooLargeError,
    NovitaServerError,
    NovitaTimeoutError,
    RetryPolicy,
)
from tests.client.misbehaving_server import ServerScript, misbehaving_server
from tests.client.novita_fakes import FakeSleep, make_client, make_router

ROOT = Path(__file__).resolve().parents[2]
FAKE_KEY = "sk_test_FAKE_not_a_real_key"
# A loaded CI machine may add this much to any timing.
SLACK_S = 1.5


async def test_trickling_server_is_cut_off_at_the_overall_deadline() -> None:
    script = ServerScript(mode="trickle", interval=0.2)
    with misbehaving_server(script) as base_url:
        client = NovitaClient(
            api_key=FAKE_KEY,
            base_url=base_url,
            request_deadline=1.0,
            retry_policy=RetryPolicy.disabled(),
        )
        started = time.monotonic()
        async with client:
            with pytest.raises(NovitaDeadlineExceededError) as info:
                await client.list_products()
        elapsed = time.monotonic() - started
    # Each byte arrives well within httpx's 30 s read timeout: only the deadline stops it.
    assert 1.0 <= elapsed < 1.0 + SLACK_S
    error = info.value
    assert isinstance(error, NovitaTimeoutError) and error.retryable
    assert error.deadline_seconds == 1.0
    assert "overall deadline of 1 s" in str(error) and "list products" in str(error)
    assert script.requests == 1 and error.attempts == 1


async def test_retries_of_a_trickling_server_stay_within_the_budget() -> None:
    script = ServerScript(mode="trickle", interval=0.2)
    policy = RetryPolicy(max_attempts=20, initial_wait=0.05, jitter=0, budget_seconds=2.0)
    with misbehaving_server(script) as base_url:
        client = NovitaClient(
            api_key=FAKE_KEY, base_url=base_url, request_deadline=0.5, retry_policy=policy
        )
        started = time.monotonic()
        async with client:
            with pytest.raises(NovitaDeadlineExceededError) as info:
                await client.list_products()
        elapsed = time.monotonic() - started
    # Budget plus one attempt's deadline, never max_attempts x deadline (10 s).
    assert elapsed < 2.0 + 0.5 + SLACK_S
    assert 2 <= script.requests < 20
    # The message counts the requests the server really received.
    assert info.value.attempts == script.requests
    assert f"gave up after {script.requests} attempts" in str(info.value)


async def test_declared_huge_body_is_refused_before_reading_it() -> None:
    script = ServerScript(mode="huge-declared")
    with misbehaving_server(script) as base_url:
        client = NovitaClient(api_key=FAKE_KEY, base_url=base_url, max_response_bytes=1_000_000)
        async with client:
            with pytest.raises(NovitaResponseTooLargeError) as info:
                await client.list_products()
    error = info.value
    assert error.limit_bytes == 1_000_000 and "limit of 1000000 bytes" in str(error)
    assert not error.retryable and script.requests == 1  # not retried
    assert script.sent_bytes < script.huge_bytes


def test_chunked_200_mb_body_is_dropped_with_low_memory() -> None:
    """A 200 MB answer with no length announced: reading stops at 8 MB; RSS stays low."""
    script = ServerScript(mode="huge-chunked")
    probe = textwrap.dedent(
        """
        import asyncio, json, resource, sys, time
        from clients.novita import NovitaClient, NovitaResponseTooLargeError

        async def main():
            async with NovitaClient(api_key="sk_test_FAKE_not_a_real_key",
                                    base_url=sys.argv[1]) as client:
                before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
                started = time.monotonic()
                try:
                    await client.list_products()
                except NovitaResponseTooLargeError as exc:
                    outcome = str(exc)
                else:
                    outcome = "no error"
                after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
            print(json.dumps({"outcome": outcome, "rss_delta_kb": after - before,
                              "elapsed": time.monotonic() - started}))

        asyncio.run(main())
        """
    )
    with misbehaving_server(script) as base_url:
        done = subprocess.run(
            [sys.executable, "-c", probe, base_url],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=120,
            check=True,
        )
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert "limit of 8388608 bytes" in result["outcome"]
    assert result["rss_delta_kb"] < 150 * 1024
    assert script.sent_bytes < 50 * 1024 * 1024
    assert script.requests == 1


async def test_size_limit_is_configurable_and_a_body_under_it_is_read() -> None:
    router = make_router()
    products = {"data": [{"id": f"p{i}", "name": "x" * 50, "price": 1} for i in range(20)]}
    body = json.dumps(products).encode()
    size = len(body)
    router.get("/products").respond(content=body, content_type="application/json")
    async with make_client(router, max_response_bytes=size) as client:
        assert len(await client.list_products()) == 20
    async with make_client(router, max_response_bytes=size - 1) as client:
        with pytest.raises(NovitaResponseTooLargeError, match=f"limit of {size - 1} bytes"):
            await client.list_products()


async def test_a_large_error_body_is_truncated_and_still_classified_by_status() -> None:
    router = make_router()
    route = router.get("/clusters").mock(
        side_effect=[
            httpx.Response(503, content=b"<html>" + b"x" * 2_000_000),
            httpx.Response(200, json={"data": []}),
        ]
    )
    async with make_client(router, max_response_bytes=1000) as client:
        assert await client.list_clusters() == []
    assert route.call_count == 2  # the 503 was retried, not turned into "too large"
    router = make_router()
    router.get("/clusters").respond(503, content=b"<html>" + b"x" * 2_000_000)
    async with make_client(router, retry_policy=RetryPolicy.disabled()) as client:
        with pytest.raises(NovitaServerError) as info:
            await client.list_clusters()
    assert info.value.status_code == 503


@respx.mock(assert_all_called=False)
async def test_default_limits_are_stated_and_validated() -> None:
    client = NovitaClient(api_key=FAKE_KEY)
    assert client.attempt_limits.deadline == 10.0
    assert client.attempt_limits.max_response_bytes == 8 * 1024 * 1024
    await client.aclose()
    with pytest.raises(ValueError):
        NovitaClient(api_key=FAKE_KEY, request_deadline=0)
    with pytest.raises(ValueError):
        NovitaClient(api_key=FAKE_KEY, max_response_bytes=0)


async def test_budget_stops_retries_that_would_end_past_it() -> None:
    router = make_router()
    route = router.get("/clusters").mock(return_value=httpx.Response(503))
    sleep = FakeSleep()
    # The third wait (4 s) would end past the 5 s budget: two waits, three requests.
    policy = RetryPolicy(max_attempts=10, initial_wait=1.0, jitter=0, budget_seconds=5.0)
    async with make_client(router, sleep, policy) as client:
        with pytest.raises(NovitaServerError) as info:
            await client.list_clusters()
    assert sleep.waits == [1.0, 2.0]
    assert route.call_count == 3 == info.value.attempts
    assert "gave up after 3 attempts" in str(info.value)
