from clients.endpoint_prober import EndpointProber

from .servers import FakeTime


async def test_tcp_connect_to_listening_socket_is_healthy(
    listening_port: int, fake_time: FakeTime
) -> None:
    async with EndpointProber(sleep=fake_time.sleep, clock=fake_time.clock) as p:
        check = await p.check_tcp("127.0.0.1", listening_port, attempts=3, deadline=30)
    assert check.healthy and check.type == "tcp" and check.attempts == 1
    assert check.endpoint == f"127.0.0.1:{listening_port}"
    assert check.status_code is None and check.error is None
    assert fake_time.waits == []


async def test_tcp_connect_to_closed_port_is_retried_then_unhealthy(
    closed_port: int, fake_time: FakeTime
) -> None:
    async with EndpointProber(sleep=fake_time.sleep, clock=fake_time.clock) as p:
        check = await p.check_tcp("127.0.0.1", closed_port, attempts=3, deadline=30)
    assert not check.healthy and check.attempts == 3
    assert "connection failed" in (check.error or "")
    assert len(fake_time.waits) == 2
    assert 0.5 <= fake_time.waits[0] <= 1.5 and 1.0 <= fake_time.waits[1] <= 3.0


async def test_tcp_deadline(closed_port: int, fake_time: FakeTime) -> None:
    async with EndpointProber(sleep=fake_time.sleep, clock=fake_time.clock) as p:
        check = await p.check_tcp("127.0.0.1", closed_port, attempts=50, deadline=5)
    assert not check.healthy and check.attempts < 50
    assert sum(fake_time.waits) < 5 and "deadline" in (check.error or "")


async def test_ipv6_endpoint_is_bracketed(closed_port: int, fake_time: FakeTime) -> None:
    async with EndpointProber(sleep=fake_time.sleep, clock=fake_time.clock) as p:
        check = await p.check_tcp("::1", closed_port, attempts=1, deadline=5)
    assert check.endpoint == f"[::1]:{closed_port}" and not check.healthy
