import asyncio
from types import SimpleNamespace

import pytest

from clients.endpoint_models import HealthReport, PortMapping
from clients.endpoint_prober import EndpointProber, check_endpoints

from .servers import AppServer, FakeTime


def prober(fake_time: FakeTime) -> EndpointProber:
    return EndpointProber(sleep=fake_time.sleep, clock=fake_time.clock)


@pytest.mark.parametrize("mappings", [None, []])
async def test_no_ports_is_healthy_with_nothing_checked(
    mappings: list | None, fake_time: FakeTime
) -> None:
    async with prober(fake_time) as p:
        report = await p.check_endpoints(mappings)
    assert report == HealthReport(healthy=True, checked=[], skipped=[], elapsed_s=0)


async def test_module_function_with_no_ports() -> None:
    report = await check_endpoints([])
    assert report.healthy and report.checked == []


async def test_all_healthy_from_dicts_objects_and_models(
    app: AppServer, listening_port: int, fake_time: FakeTime
) -> None:
    mappings = [
        {"port": 8888, "endpoint": app.url, "type": "http"},
        SimpleNamespace(port=22, endpoint=f"127.0.0.1:{listening_port}", type="tcp"),
        PortMapping(port=2222, endpoint=f"tcp://127.0.0.1:{listening_port}", type="TCP"),
    ]
    async with prober(fake_time) as p:
        report = await p.check_endpoints(mappings, attempts=3, deadline=30)
    assert report.healthy and report.unhealthy == [] and report.skipped == []
    assert [(c.port, c.type, c.healthy) for c in report.checked] == [
        (8888, "http", True),
        (22, "tcp", True),
        (2222, "tcp", True),
    ]
    assert report.checked[1].endpoint == f"127.0.0.1:{listening_port}"


async def test_one_unhealthy_endpoint_makes_the_report_unhealthy(
    app: AppServer, closed_port: int, fake_time: FakeTime
) -> None:
    mappings = [
        {"port": 8888, "endpoint": app.url, "type": "http"},
        {"port": 22, "endpoint": f"127.0.0.1:{closed_port}", "type": "tcp"},
    ]
    async with prober(fake_time) as p:
        report = await p.check_endpoints(mappings, attempts=2, deadline=30)
    assert not report.healthy
    assert [c.port for c in report.unhealthy] == [22]
    assert report.unhealthy[0].attempts == 2


async def test_tcp_endpoint_without_port_uses_the_mapping_port(
    listening_port: int, fake_time: FakeTime
) -> None:
    async with prober(fake_time) as p:
        report = await p.check_endpoints(
            [{"port": listening_port, "endpoint": "127.0.0.1", "type": "tcp"}], attempts=1
        )
    assert report.healthy and report.checked[0].endpoint == f"127.0.0.1:{listening_port}"


async def test_missing_endpoint_or_bad_tcp_address_is_unhealthy_without_probing(
    fake_time: FakeTime,
) -> None:
    mappings = [
        {"port": 8888, "endpoint": None, "type": "http"},
        {"port": None, "endpoint": "host-without-port", "type": "tcp"},
    ]
    async with prober(fake_time) as p:
        report = await p.check_endpoints(mappings, attempts=3)
    assert not report.healthy
    assert [(c.attempts, c.healthy) for c in report.checked] == [(0, False), (0, False)]
    assert report.checked[0].error == "no endpoint"
    assert "port" in (report.checked[1].error or "")
    assert fake_time.waits == []


async def test_unknown_types_are_skipped_not_failed(app: AppServer, fake_time: FakeTime) -> None:
    mappings = [
        {"port": 8888, "endpoint": app.url, "type": "http"},
        {"port": 9000, "endpoint": "127.0.0.1:9000", "type": "udp"},
    ]
    async with prober(fake_time) as p:
        report = await p.check_endpoints(mappings, attempts=1)
    assert report.healthy and len(report.checked) == 1
    assert report.skipped == [PortMapping(port=9000, endpoint="127.0.0.1:9000", type="udp")]


async def test_endpoints_are_checked_concurrently(closed_port: int) -> None:
    # Each check sleeps once; the sleep only returns once both checks are sleeping, which
    # can happen only if they run side by side (in sequence the first would wait forever).
    both_waiting = asyncio.Event()
    waits: list[float] = []

    async def rendezvous_sleep(seconds: float) -> None:
        waits.append(seconds)
        if len(waits) == 2:
            both_waiting.set()
        await asyncio.wait_for(both_waiting.wait(), timeout=2)

    mappings = [
        {"port": 1, "endpoint": f"127.0.0.1:{closed_port}", "type": "tcp"},
        {"port": 2, "endpoint": f"http://127.0.0.1:{closed_port}/", "type": "http"},
    ]
    async with EndpointProber(sleep=rendezvous_sleep) as p:
        report = await p.check_endpoints(mappings, attempts=2, deadline=30)
    assert len(waits) == 2
    assert not report.healthy and [c.attempts for c in report.checked] == [2, 2]
