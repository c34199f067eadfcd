"""The per-second rate cap and the request stats: exact in unit tests, then over HTTP.

The HTTP tests are marked ``integration`` (a served simulator, ~4 s in all); the limiter and
the counters alone are plain unit tests.
"""

from __future__ import annotations

import asyncio
import random
import subprocess
import sys
import threading
import time

import httpx
import pytest

from simulator.__main__ import parse_args
from simulator.ratelimit import RateLimit, RateLimiter
from simulator.requeststats import RequestStats
from simulator.server import SimulatorServer


def _max_in_any_second(times: list[float]) -> int:
    """Brute force: the most instants in any (t - 1, t] window."""
    return max((sum(1 for u in times if t - 1 < u <= t) for t in times), default=0)


# -- the limiter alone, on made-up instants ------------------------------------------------


def test_sixty_at_once_admits_the_limit_then_the_window_reopens() -> None:
    limiter = RateLimiter(RateLimit(per_second=20), now=0.0)
    first = [limiter.admit(0.0) for _ in range(60)]
    assert first.count(None) == 20
    assert all(wait == pytest.approx(1.0) for wait in first if wait is not None)
    assert limiter.admit(0.5) == pytest.approx(0.5)  # the window still holds 20
    assert [limiter.admit(1.0) for _ in range(21)].count(None) == 20
    assert limiter.refused == 40 + 1 + 1


def test_burst_spaces_admissions_at_the_rate() -> None:
    limiter = RateLimiter(RateLimit(per_second=20, burst=5), now=0.0)
    assert [limiter.admit(0.0) for _ in range(6)].count(None) == 5
    assert limiter.admit(0.01) == pytest.approx(0.04)  # one token every 50 ms
    assert limiter.admit(0.05) is None
    assert limiter.admit(0.05) is not None


@pytest.mark.parametrize(("per_second", "burst"), [(20, None), (20, 5), (3, 1), (7, 7)])
def test_no_one_second_window_admits_more_than_the_limit(
    per_second: int, burst: int | None
) -> None:
    rng = random.Random(per_second * 100 + (burst or 0))
    limiter = RateLimiter(RateLimit(per_second=per_second, burst=burst), now=0.0)
    arrivals = sorted(rng.uniform(0, 5) for _ in range(1500))
    admitted = [t for t in arrivals if limiter.admit(t) is None]
    assert _max_in_any_second(admitted) <= per_second
    # ... and it is not stingy either: close to the rate over the 5 seconds.
    assert len(admitted) >= 5 * per_second - 1


def test_a_client_that_waits_what_it_is_told_is_admitted() -> None:
    limiter = RateLimiter(RateLimit(per_second=10, burst=2), now=0.0)
    now = 0.0
    for _ in range(30):
        wait = limiter.admit(now)
        if wait is not None:
            now += wait
            assert limiter.admit(now) is None
    assert limiter.refused > 0


def test_bad_limits_are_refused() -> None:
    with pytest.raises(ValueError):
        RateLimit(per_second=0)
    with pytest.raises(ValueError):
        RateLimit(per_second=5, burst=6)


# -- the stats alone ---------------------------------------------------------------------


def test_stats_sliding_peak_matches_brute_force() -> None:
    rng = random.Random(7)
    stats = RequestStats()
    times = sorted(rng.uniform(0, 4) for _ in range(300))
    served = []
    for t in times:
        limited = rng.random() < 0.3
        stats.record("/products" if t < 2 else "/clusters", limited=limited, now=t, wall=100 + t)
        if not limited:
            served.append(t)
    snap = stats.snapshot()
    assert snap["maxReceivedInAnySecond"] == _max_in_any_second(times)
    assert snap["maxServedInAnySecond"] == _max_in_any_second(served)
    assert snap["total"] == 300
    assert snap["served"] == len(served)
    assert sum(p["total"] for p in snap["byPath"].values()) == 300
    assert [row["second"] for row in snap["perSecond"]] == [100, 101, 102, 103]
    assert sum(row["served"] for row in snap["perSecond"]) == len(served)


def test_stats_keep_a_bounded_number_of_seconds() -> None:
    stats = RequestStats(seconds_kept=3)
    for second in range(5):
        stats.record("/clusters", limited=False, now=float(second), wall=float(second))
    snap = stats.snapshot()
    assert [row["second"] for row in snap["perSecond"]] == [2, 3, 4]
    assert snap["total"] == 5


# -- over HTTP -------------------------------------------------------------------------


@pytest.mark.integration
async def test_sixty_concurrent_requests_under_a_limit_of_twenty(sim: SimulatorServer) -> None:
    sim.set_rate_limit(20)
    headers = {"Authorization": f"Bearer {sim.api_key}"}
    limits = httpx.Limits(max_connections=60)
    async with httpx.AsyncClient(
        base_url=sim.base_url, headers=headers, limits=limits, timeout=10
    ) as client:
        responses = await asyncio.gather(*(client.get("/clusters") for _ in range(60)))
    served = [r for r in responses if r.status_code == 200]
    refused = [r for r in responses if r.status_code == 429]
    assert len(served) + len(refused) == 60
    # 60 requests arrive well within one second, so exactly the limit gets through ...
    assert len(served) >= 20
    for response in refused:
        assert response.json()["reason"] == "RATE_LIMIT_EXCEEDED"
        assert int(response.headers["Retry-After"]) >= 1
        assert "Retry-After-Ms" not in response.headers
    stats = sim.request_stats()
    # ... and the counters prove no second ever served more.
    assert stats["maxServedInAnySecond"] == 20
    assert stats["maxReceivedInAnySecond"] >= stats["maxServedInAnySecond"]
    assert stats["total"] == 60
    assert stats["served"] == len(served)
    assert stats["limited"] == len(refused)
    assert stats["byStatus"] == {"200": len(served), "429": len(refused)}
    assert stats["byPath"] == {"/clusters": {"total": 60, "limited": len(refused)}}
    assert sum(row["received"] for row in stats["perSecond"]) == 60
    assert sim.snapshot()["faults"]["rateLimit"]["refused"] == len(refused)


@pytest.mark.integration
def test_sustained_hammering_never_gets_more_than_the_limit_per_second(
    sim: SimulatorServer,
) -> None:
    sim.set_rate_limit(10)
    headers = {"Authorization": f"Bearer {sim.api_key}"}
    stop_at = time.monotonic() + 2.1
    codes: list[int] = []

    def hammer() -> None:
        with httpx.Client(base_url=sim.base_url, headers=headers, timeout=5) as client:
            while time.monotonic() < stop_at:
                path = "/products" if len(codes) % 2 else "/gpu/instances"
                codes.append(client.get(path).status_code)

    threads = [threading.Thread(target=hammer) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    stats = sim.request_stats()
    assert stats["maxServedInAnySecond"] <= 10
    # 2.1 s at 10/s: two full windows and a bit of a third, never more than three.
    assert 20 <= codes.count(200) <= 30
    assert stats["served"] == codes.count(200)
    assert stats["limited"] == codes.count(429) > 0
    assert stats["maxReceivedInAnySecond"] > 10
    assert set(stats["byPath"]) == {"/products", "/gpu/instances"}


@pytest.mark.integration
def test_precise_retry_after_lets_a_patient_client_through(
    sim: SimulatorServer, api: httpx.Client, admin: httpx.Client
) -> None:
    response = admin.post(
        "/faults/rate-limit", json={"perSecond": 10, "burst": 1, "retryAfterMs": True}
    )
    assert response.status_code == 200
    assert api.get("/clusters").status_code == 200
    refused = api.get("/clusters")
    assert refused.status_code == 429
    assert refused.headers["Retry-After"] == "1"
    wait_ms = int(refused.headers["Retry-After-Ms"])
    assert 0 < wait_ms <= 100
    time.sleep(wait_ms / 1000)
    assert api.get("/clusters").status_code == 200


@pytest.mark.integration
def test_latency_applies_to_refused_requests_too(sim: SimulatorServer, api: httpx.Client) -> None:
    sim.set_rate_limit(1)
    sim.set_latency(80)
    assert api.get("/clusters").status_code == 200
    started = time.monotonic()
    assert api.get("/clusters").status_code == 429
    assert time.monotonic() - started >= 0.08


@pytest.mark.integration
def test_admin_and_endpoints_are_neither_capped_nor_counted(
    sim: SimulatorServer, api: httpx.Client, admin: httpx.Client, web: httpx.Client
) -> None:
    sim.set_rate_limit(1)
    assert api.get("/clusters").status_code == 200
    for _ in range(5):
        assert admin.get("/state").status_code == 200
        assert web.get(f"{sim.root_url}/_endpoints/unknown/8888").status_code == 404
    assert api.get("/clusters").status_code == 429
    stats = admin.get("/stats").json()
    assert (stats["total"], stats["served"], stats["limited"]) == (2, 1, 1)


@pytest.mark.integration
def test_rate_cap_over_admin_reset_and_clear(
    sim: SimulatorServer, api: httpx.Client, admin: httpx.Client
) -> None:
    assert admin.post("/faults/rate-limit", json={"perSecond": 5, "burst": 6}).status_code == 400
    assert admin.post("/faults/rate-limit", json={"perSecond": 20, "burst": 5}).status_code == 200
    cap = admin.get("/state").json()["faults"]["rateLimit"]
    assert (cap["perSecond"], cap["burst"], cap["retryAfterMs"]) == (20, 5, False)
    # A cap alone forces no 429 of the "next N" kind.
    assert admin.get("/state").json()["faults"]["rateLimitNext"]["count"] == 0
    assert admin.post("/faults/rate-limit", json={"perSecond": 0}).status_code == 200
    assert admin.get("/state").json()["faults"]["rateLimit"] is None

    sim.set_rate_limit(1)
    api.get("/clusters")
    assert api.get("/clusters").status_code == 429
    assert admin.post("/faults/clear").status_code == 200
    assert api.get("/clusters").status_code == 200
    assert sim.request_stats()["total"] == 3
    assert admin.delete("/stats").status_code == 200
    assert sim.request_stats()["total"] == 0

    sim.set_rate_limit(1)
    api.get("/clusters")
    sim.reset()
    assert api.get("/clusters").status_code == 200
    assert sim.request_stats()["total"] == 1


@pytest.mark.integration
def test_cli_options_cap_the_api_and_add_latency() -> None:
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "simulator",
            "--port",
            "0",
            "--log-level",
            "warning",
            "--rate-limit",
            "2",
            "--latency-ms",
            "60",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        assert "rate limit 2/s (burst 2)" in line
        assert "latency 60 ms" in line
        base_url = line.split("base URL ", 1)[1].split(" ", 1)[0]
        headers = {"Authorization": "Bearer sk_sim_fake_key_for_local_use_only"}
        with httpx.Client(base_url=base_url, headers=headers, timeout=5) as client:
            started = time.monotonic()
            codes = [client.get("/clusters").status_code for _ in range(3)]
            elapsed = time.monotonic() - started
            admin = base_url.split("/gpu-instance", 1)[0] + "/_admin"
            stats = client.get(f"{admin}/stats").json()
        assert codes == [200, 200, 429]
        assert elapsed >= 3 * 0.06
        assert (stats["served"], stats["limited"]) == (2, 1)
    finally:
        proc.terminate()
        proc.wait(timeout=10)


@pytest.mark.integration
def test_cli_rejects_bad_rate_options(capsys: pytest.CaptureFixture[str]) -> None:
    assert parse_args(["--rate-limit", "20", "--rate-burst", "5"]).rate_burst == 5
    for argv in (["--rate-limit", "-1"], ["--rate-burst", "2"], ["--latency-ms", "-5"]):
        with pytest.raises(SystemExit):
            parse_args(argv)
    assert "--rate-burst" in capsys.readouterr().err
