import time

import pytest

from clients.endpoint_prober import EndpointProber

from .servers import Answer, AppServer, FakeTime

BAD_GATEWAY_PAGE = (
    b"<html><head><title>502 Bad Gateway</title></head>"
    b"<body><center><h1>502 Bad Gateway</h1></center><hr><center>nginx</center></body></html>"
)


def prober(fake_time: FakeTime, timeout: float = 5.0) -> EndpointProber:
    return EndpointProber(timeout, sleep=fake_time.sleep, clock=fake_time.clock)


async def test_200_is_healthy_in_one_attempt(app: AppServer, fake_time: FakeTime) -> None:
    async with prober(fake_time) as p:
        check = await p.check_http(app.url, attempts=5, deadline=60)
    assert check.healthy and check.type == "http" and check.endpoint == app.url
    assert (check.status_code, check.attempts, check.error) == (200, 1, None)
    assert check.port is None and check.elapsed_s == 0
    assert fake_time.waits == []


async def test_502_502_200_is_healthy_after_backoff_within_jitter(
    app: AppServer, fake_time: FakeTime
) -> None:
    app.script(502, 502, 200)
    async with prober(fake_time) as p:
        check = await p.check_http(app.url, attempts=5, deadline=60)
    assert check.healthy and check.attempts == 3 and check.status_code == 200
    assert app.hits == 3
    first, second = fake_time.waits
    assert 0.5 <= first <= 1.5
    assert 1.0 <= second <= 3.0
    assert check.elapsed_s == pytest.approx(first + second, abs=1e-3)


@pytest.mark.parametrize("status", [503, 504, 500, 408, 429])
async def test_transient_statuses_are_retried(
    app: AppServer, fake_time: FakeTime, status: int
) -> None:
    app.script(status, 200)
    async with prober(fake_time) as p:
        check = await p.check_http(app.url, attempts=3, deadline=60)
    assert check.healthy and check.attempts == 2 and len(fake_time.waits) == 1


@pytest.mark.parametrize("status", [404, 401, 403, 400])
async def test_other_4xx_unhealthy_after_one_attempt(
    app: AppServer, fake_time: FakeTime, status: int
) -> None:
    app.script(status)
    async with prober(fake_time) as p:
        check = await p.check_http(app.url, attempts=5, deadline=60)
    assert not check.healthy
    assert (check.attempts, check.status_code, check.error) == (1, status, f"HTTP {status}")
    assert fake_time.waits == [] and app.hits == 1


async def test_502_until_attempts_run_out(app: AppServer, fake_time: FakeTime) -> None:
    app.script(502)
    async with prober(fake_time) as p:
        check = await p.check_http(app.url, attempts=4, deadline=None)
    assert not check.healthy
    assert (check.attempts, check.status_code, check.error) == (4, 502, "HTTP 502")
    assert len(fake_time.waits) == 3 and app.hits == 4


async def test_200_with_bad_gateway_page_is_not_healthy(
    app: AppServer, fake_time: FakeTime
) -> None:
    app.script(Answer(200, BAD_GATEWAY_PAGE))
    async with prober(fake_time) as p:
        check = await p.check_http(app.url, attempts=2, deadline=60)
    assert not check.healthy and check.attempts == 2 and check.status_code == 200
    assert "gateway error page" in (check.error or "")


async def test_gateway_page_then_app_is_healthy(app: AppServer, fake_time: FakeTime) -> None:
    app.script(Answer(200, BAD_GATEWAY_PAGE), Answer(200, b"<title>JupyterLab</title>"))
    async with prober(fake_time) as p:
        check = await p.check_http(app.url, attempts=3, deadline=60)
    assert check.healthy and check.attempts == 2


async def test_redirect_is_healthy_and_not_followed(
    app: AppServer, fake_time: FakeTime, closed_port: int
) -> None:
    app.script(Answer(302, b"", (("Location", f"http://127.0.0.1:{closed_port}/login"),)))
    async with prober(fake_time) as p:
        check = await p.check_http(app.url, attempts=3, deadline=60)
    assert check.healthy and check.status_code == 302 and check.attempts == 1
    assert app.hits == 1


async def test_large_body_read_partially_still_healthy(app: AppServer, fake_time: FakeTime) -> None:
    app.script(Answer(200, b"<title>app</title>" + b"x" * 2_000_000))
    async with prober(fake_time) as p:
        check = await p.check_http(app.url + "big", attempts=1, deadline=60)
    assert check.healthy and app.paths == ["/big"]


async def test_connection_refused_is_retried_then_unhealthy(
    closed_port: int, fake_time: FakeTime
) -> None:
    url = f"http://127.0.0.1:{closed_port}/"
    async with prober(fake_time) as p:
        check = await p.check_http(url, attempts=3, deadline=60)
    assert not check.healthy and check.attempts == 3 and check.status_code is None
    assert "connection" in (check.error or "").lower()
    assert len(fake_time.waits) == 2
    assert 0.5 <= fake_time.waits[0] <= 1.5 and 1.0 <= fake_time.waits[1] <= 3.0


async def test_deadline_stops_retries_before_attempts_run_out(
    closed_port: int, fake_time: FakeTime
) -> None:
    url = f"http://127.0.0.1:{closed_port}/"
    async with prober(fake_time) as p:
        check = await p.check_http(url, attempts=100, deadline=10)
    assert not check.healthy
    assert 2 <= check.attempts < 100
    assert sum(fake_time.waits) < 10  # no wait ends past the deadline
    assert check.elapsed_s < 10
    assert "deadline of 10 s reached" in (check.error or "")
    assert "connection" in (check.error or "").lower()


async def test_zero_deadline_makes_no_attempt(app: AppServer, fake_time: FakeTime) -> None:
    async with prober(fake_time) as p:
        check = await p.check_http(app.url, attempts=3, deadline=0)
    assert not check.healthy and check.attempts == 0 and app.hits == 0


async def test_real_deadline_cuts_a_hanging_attempt(listening_port: int) -> None:
    # The port accepts connections but never answers: only the deadline can end this.
    url = f"http://127.0.0.1:{listening_port}/"
    started = time.monotonic()
    async with EndpointProber(timeout=5.0) as p:
        check = await p.check_http(url, attempts=5, deadline=0.4)
    assert time.monotonic() - started < 2.0
    assert not check.healthy and check.attempts == 1
    assert "timed out" in (check.error or "")


async def test_unusable_urls_are_final(fake_time: FakeTime) -> None:
    async with prober(fake_time) as p:
        empty = await p.check_http("  ", attempts=3)
        ftp = await p.check_http("ftp://127.0.0.1/x", attempts=3)
    assert not empty.healthy and empty.attempts == 0 and "empty" in (empty.error or "")
    assert not ftp.healthy and ftp.attempts == 1 and "invalid endpoint URL" in (ftp.error or "")
    assert fake_time.waits == []


async def test_use_outside_context_is_a_usage_error() -> None:
    with pytest.raises(RuntimeError):
        await EndpointProber().check_http("http://127.0.0.1:9/")
