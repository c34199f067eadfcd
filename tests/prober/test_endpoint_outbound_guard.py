"""Probe targets pass the outbound guard: a refused one is unhealthy with the rule as reason."""

from __future__ import annotations

import pytest

from clients.endpoint_prober import EndpointProber
from tests.webhooks.fake_dns import FakeDns

from .servers import AppServer, FakeTime


@pytest.mark.parametrize(
    ("url", "rule"),
    [
        ("http://169.254.169.254/latest/meta-data/", "169.254.169.254 is link-local"),
        ("metadata.google.internal/computeMetadata/v1/", "cloud metadata host name"),
    ],
)
async def test_metadata_http_targets_are_refused_at_once(
    url: str, rule: str, fake_time: FakeTime
) -> None:
    async with EndpointProber(sleep=fake_time.sleep, clock=fake_time.clock) as prober:
        check = await prober.check_http(url, attempts=5, deadline=60)
    assert not check.healthy and check.attempts == 1
    assert check.error is not None and "outbound guard refused" in check.error
    assert rule in check.error and "(always refused)" in check.error
    assert fake_time.waits == []


async def test_metadata_tcp_targets_are_refused(fake_time: FakeTime) -> None:
    dns = FakeDns({"ssh.example": [["fe80::1"]]})
    prober = EndpointProber(sleep=fake_time.sleep, clock=fake_time.clock, resolver=dns)
    async with prober:
        direct = await prober.check_tcp("169.254.169.254", 22, attempts=5)
        named = await prober.check_tcp("ssh.example", 22, attempts=5)
    assert not direct.healthy and direct.attempts == 1
    assert "169.254.169.254 is link-local" in (direct.error or "")
    assert not named.healthy and "fe80::1 is link-local (fe80::/10)" in (named.error or "")
    assert fake_time.waits == []


async def test_a_refused_mapping_makes_the_report_unhealthy_with_the_reason(
    app: AppServer, fake_time: FakeTime
) -> None:
    mappings = [
        {"port": 8888, "endpoint": app.url, "type": "http"},
        {"port": 80, "endpoint": "http://metadata.google.internal/", "type": "http"},
    ]
    async with EndpointProber(sleep=fake_time.sleep, clock=fake_time.clock) as prober:
        report = await prober.check_endpoints(mappings, attempts=3, deadline=30)
    assert not report.healthy
    (refused,) = report.unhealthy
    assert refused.port == 80 and "cloud metadata host name" in (refused.error or "")


async def test_strict_mode_refuses_loopback_unless_allow_listed(
    app: AppServer, listening_port: int, fake_time: FakeTime
) -> None:
    strict = EndpointProber(sleep=fake_time.sleep, clock=fake_time.clock, strict_outbound=True)
    async with strict:
        http = await strict.check_http(app.url, attempts=3)
        tcp = await strict.check_tcp("127.0.0.1", listening_port, attempts=3)
        private = await strict.check_tcp("10.0.0.1", 22, attempts=3)
    assert not http.healthy and "loopback address (127.0.0.0/8)" in (http.error or "")
    assert not tcp.healthy and "strict outbound mode" in (tcp.error or "")
    assert "10.0.0.1 is a private address (10.0.0.0/8)" in (private.error or "")
    assert app.hits == 0

    allowed = EndpointProber(
        sleep=fake_time.sleep,
        clock=fake_time.clock,
        strict_outbound=True,
        outbound_allow_list=["127.0.0.0/8"],
    )
    async with allowed:
        http = await allowed.check_http(app.url, attempts=3)
        tcp = await allowed.check_tcp("127.0.0.1", listening_port, attempts=3)
    assert http.healthy and tcp.healthy and app.hits == 1
