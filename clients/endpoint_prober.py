"""Probe an instance's endpoints until they really serve: the health check of provisioning.

An http endpoint is healthy when a GET answers 200-399 with a body that is not a gateway's
error page (see ``endpoint_gateway_page``); a tcp endpoint is healthy when a TCP connect
succeeds. Each endpoint is retried with ``ProbeBackoff`` (1 s base, x2, 15 s cap, 0.5-1.5x
jitter) until it is healthy, a final answer arrives, ``attempts`` run out or the overall
``deadline`` would be passed.

Decisions, in one place:

* Retried (the app or its proxy may still be coming up): connection errors, timeouts, 408,
  429, every 5xx including 500 (apps often answer 500 while booting), and a 2xx/3xx whose body
  is a gateway error page.
* Final at once: any other 4xx (the app answers, and says no) and an unusable endpoint.
* Redirects are not followed: a 3xx already proves the application answers (Jupyter sends
  ``/`` to ``/tree`` or a login page), and following could lead the probe off to other hosts.
* The deadline bounds the whole check, waits included: no wait ends past it (a wait that
  would is not started; the check gives up instead), and each attempt's timeout is cut to the
  time left.
* Only the first 64 KiB of a body are read; that is plenty to recognise an error page.
* Endpoints come from Novita's answers, so every probe passes the outbound guard
  (:mod:`clients.outbound_guard`) at connect time: a link-local or cloud-metadata target (or,
  in strict mode, a private one) is final at once, unhealthy with the rule as its error.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import random
import time
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import httpx

from clients.endpoint_address import normalize_http_url, parse_tcp_endpoint
from clients.endpoint_backoff import ProbeBackoff
from clients.endpoint_gateway_page import looks_like_gateway_error_page
from clients.endpoint_models import EndpointCheck, HealthReport, PortMapping
from clients.guarded_connect import open_guarded_connection
from clients.http_session import HttpSession
from clients.outbound_guard import OutboundGuard, OutboundRefusedError, Resolver

__all__ = [
    "DEFAULT_ATTEMPTS",
    "DEFAULT_DEADLINE_S",
    "EndpointProber",
    "check_endpoints",
]

logger = logging.getLogger(__name__)

DEFAULT_ATTEMPTS = 10
"""With the default backoff, ten attempts span roughly 90 s of waits."""

DEFAULT_DEADLINE_S = 180.0
"""An overall bound per endpoint; provisioning has its own, larger deadline around it."""

_BODY_PEEK_BYTES = 65_536
_USER_AGENT = "novita-prefect-prober/0.1"
_PROBED_TYPES = frozenset({"http", "https", "tcp"})

SleepFn = Callable[[float], Awaitable[None]]
ClockFn = Callable[[], float]
PortMappingLike = PortMapping | Mapping[str, Any] | object


@dataclass(frozen=True)
class _ProbeOutcome:
    """The result of one probe, already classified for the retry loop."""

    healthy: bool
    retryable: bool
    status_code: int | None = None
    error: str | None = None


def _describe(what: str, exc: BaseException) -> str:
    """Make a short error string from an exception."""
    detail = str(exc).strip()
    return f"{what} ({type(exc).__name__}{': ' + detail if detail else ''})"[:200]


def _refused(exc: OutboundRefusedError) -> _ProbeOutcome:
    """A target the outbound guard refused: final, the rule as the error."""
    return _ProbeOutcome(False, False, error=str(exc)[:200])


def _classify_http(status: int, head: bytes) -> _ProbeOutcome:
    """Decide what an HTTP answer means for health (the retry rules of the module docstring)."""
    if 200 <= status <= 399:
        if looks_like_gateway_error_page(head):
            return _ProbeOutcome(False, True, status, f"HTTP {status} with a gateway error page")
        return _ProbeOutcome(True, False, status)
    retryable = status in (408, 429) or 500 <= status <= 599
    return _ProbeOutcome(False, retryable, status, f"HTTP {status}")


class EndpointProber(HttpSession):
    """Health checks of http and tcp endpoints, sharing one ``httpx.AsyncClient``.

    Args:
        timeout: Seconds allowed per attempt (cut to what the deadline leaves).
        transport: An httpx transport for the http probes (proxies, custom TLS, tests).
        sleep: Awaitable sleep between attempts; tests pass a recorder so nothing waits.
        clock: Monotonic clock in seconds, for deadlines and ``elapsed_s``; tests may pass a
            fake one advanced by their fake ``sleep``.
        backoff: The wait schedule; ``ProbeBackoff()`` by default.
        rng: Randomness for jitter; tests may pass a seeded ``random.Random``.
        strict_outbound: Also refuse targets on loopback, private and other non-public
            addresses (link-local and cloud-metadata targets are refused in any case).
        outbound_allow_list: Host names, addresses or CIDRs strict mode lets through.
        resolver: Name resolution for the outbound guard; the system's by default.

    Example:
        >>> async def is_up(url: str) -> bool:  # doctest: +SKIP
        ...     async with EndpointProber() as prober:
        ...         check = await prober.check_http(url, attempts=5, deadline=60)
        ...     return check.healthy

    """

    def __init__(
        self,
        timeout: float = 5.0,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
        sleep: SleepFn | None = None,
        clock: ClockFn | None = None,
        backoff: ProbeBackoff | None = None,
        rng: random.Random | None = None,
        strict_outbound: bool = False,
        outbound_allow_list: Sequence[str] = (),
        resolver: Resolver | None = None,
    ) -> None:
        super().__init__(
            user_agent=_USER_AGENT,
            timeout=timeout,
            transport=transport,
            strict_outbound=strict_outbound,
            outbound_allow_list=outbound_allow_list,
            resolver=resolver,
        )
        self._sleep: SleepFn = sleep or asyncio.sleep
        self._clock: ClockFn = clock or time.monotonic
        self._backoff = backoff or ProbeBackoff()
        self._rng = rng

    async def check_http(
        self,
        url: str,
        *,
        attempts: int = DEFAULT_ATTEMPTS,
        deadline: float | None = DEFAULT_DEADLINE_S,
    ) -> EndpointCheck:
        """GET ``url`` until it serves, a final answer comes, or attempts/deadline run out.

        Args:
            url: The endpoint; one without a scheme gets ``https://``.
            attempts: Maximum number of GETs (at least 1).
            deadline: Overall seconds for this check, waits included; None for no bound.

        Returns:
            An ``EndpointCheck`` of type ``http``; never raises for an unreachable endpoint.

        Raises:
            RuntimeError: The prober is used outside ``async with``.

        Example:
            >>> async with EndpointProber() as prober:  # doctest: +SKIP
            ...     check = await prober.check_http("https://abc-8888.proxy.example")

        """
        http = self.http  # fails fast outside ``async with``
        try:
            url = normalize_http_url(url)
        except ValueError as exc:
            return EndpointCheck(type="http", endpoint=url, healthy=False, error=str(exc))

        async def probe(time_limit: float) -> _ProbeOutcome:
            return await self._get_once(http, url, time_limit)

        return await self._check("http", url, probe, attempts, deadline)

    async def check_tcp(
        self,
        host: str,
        port: int,
        *,
        attempts: int = DEFAULT_ATTEMPTS,
        deadline: float | None = DEFAULT_DEADLINE_S,
    ) -> EndpointCheck:
        """Open a TCP connection to ``host:port`` until one succeeds or attempts/deadline run out.

        Args:
            host: Host name or IP address (IPv6 without brackets).
            port: TCP port.
            attempts: Maximum number of connects (at least 1).
            deadline: Overall seconds for this check, waits included; None for no bound.

        Returns:
            An ``EndpointCheck`` of type ``tcp`` with ``endpoint`` ``host:port``.

        Example:
            >>> async with EndpointProber() as prober:  # doctest: +SKIP
            ...     check = await prober.check_tcp("203.0.113.7", 31022, attempts=3)

        """
        endpoint = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"

        async def probe(time_limit: float) -> _ProbeOutcome:
            return await _connect_once(self.guard, host, port, time_limit)

        return await self._check("tcp", endpoint, probe, attempts, deadline)

    async def check_endpoints(
        self,
        port_mappings: Iterable[PortMappingLike] | None,
        *,
        attempts: int = DEFAULT_ATTEMPTS,
        deadline: float | None = DEFAULT_DEADLINE_S,
    ) -> HealthReport:
        """Check every port mapping concurrently and sum them up.

        Args:
            port_mappings: Novita ``portMappings``: ``PortMapping``s, dicts or objects with
                ``port``, ``endpoint``, ``type``. None or empty means no ports.
            attempts: Per endpoint, as in ``check_http``.
            deadline: Per endpoint; they run concurrently, so it also bounds the report.

        Returns:
            A ``HealthReport``: healthy when every checked endpoint is (so also with no ports,
            where ``checked`` is empty); mappings of other types are listed in ``skipped``.

        Example:
            >>> async with EndpointProber() as prober:  # doctest: +SKIP
            ...     report = await prober.check_endpoints(
            ...         [{"port": 8888, "endpoint": "abc-8888.proxy.example", "type": "http"},
            ...          {"port": 22, "endpoint": "203.0.113.7:31022", "type": "tcp"}])

        """
        started = self._clock()
        mappings = [PortMapping.model_validate(item) for item in port_mappings or ()]
        probed: list[PortMapping] = []
        skipped: list[PortMapping] = []
        for mapping in mappings:
            (probed if mapping.type in _PROBED_TYPES else skipped).append(mapping)
        for mapping in skipped:
            logger.info("not probing port %s: unknown type %r", mapping.port, mapping.type)
        checks = await asyncio.gather(
            *(self._check_mapping(m, attempts=attempts, deadline=deadline) for m in probed)
        )
        report = HealthReport(
            healthy=all(check.healthy for check in checks),
            checked=list(checks),
            skipped=skipped,
            elapsed_s=round(self._clock() - started, 3),
        )
        logger.info(
            "health report: %s (%d checked, %d unhealthy, %d skipped)",
            "healthy" if report.healthy else "UNHEALTHY",
            len(report.checked),
            len(report.unhealthy),
            len(report.skipped),
        )
        return report

    async def _check_mapping(
        self, mapping: PortMapping, *, attempts: int, deadline: float | None
    ) -> EndpointCheck:
        """Check one mapping and label the result with the mapping's port."""
        kind: Literal["http", "tcp"] = "tcp" if mapping.type == "tcp" else "http"
        if not mapping.endpoint.strip():
            # Novita has not published the endpoint yet: nothing serves there for us.
            return EndpointCheck(
                port=mapping.port, type=kind, endpoint="", healthy=False, error="no endpoint"
            )
        if kind == "http":
            check = await self.check_http(mapping.endpoint, attempts=attempts, deadline=deadline)
        else:
            try:
                host, port = parse_tcp_endpoint(mapping.endpoint, default_port=mapping.port)
            except ValueError as exc:
                return EndpointCheck(
                    port=mapping.port,
                    type="tcp",
                    endpoint=mapping.endpoint,
                    healthy=False,
                    error=str(exc),
                )
            check = await self.check_tcp(host, port, attempts=attempts, deadline=deadline)
        return check.model_copy(update={"port": mapping.port})

    async def _check(
        self,
        kind: Literal["http", "tcp"],
        endpoint: str,
        probe: Callable[[float], Awaitable[_ProbeOutcome]],
        attempts: int,
        deadline: float | None,
    ) -> EndpointCheck:
        """Run ``probe`` under the retry rules and report the last outcome."""
        attempts = max(1, attempts)
        started = self._clock()
        ends_at = math.inf if deadline is None else started + deadline
        made = 0
        outcome = _ProbeOutcome(False, False, error="deadline reached before the first attempt")
        while True:
            left = ends_at - self._clock()
            if left <= 0:
                break
            made += 1
            outcome = await probe(min(self._timeout, left))
            logger.debug(
                "%s probe %d of %s: %s",
                kind,
                made,
                endpoint,
                "healthy" if outcome.healthy else outcome.error,
            )
            if outcome.healthy or not outcome.retryable or made >= attempts:
                break
            wait = self._backoff.wait_before_retry(made, self._rng)
            if self._clock() + wait >= ends_at:
                outcome = _ProbeOutcome(
                    False,
                    False,
                    outcome.status_code,
                    f"deadline of {deadline:g} s reached: {outcome.error}",
                )
                break
            await self._sleep(wait)
        check = EndpointCheck(
            type=kind,
            endpoint=endpoint,
            healthy=outcome.healthy,
            status_code=outcome.status_code,
            attempts=made,
            error=outcome.error,
            elapsed_s=round(self._clock() - started, 3),
        )
        log = logger.info if check.healthy else logger.warning
        log(
            "%s endpoint %s %s after %d attempt(s)%s",
            kind,
            endpoint,
            "healthy" if check.healthy else "UNHEALTHY",
            made,
            f": {check.error}" if check.error else "",
        )
        return check

    async def _get_once(
        self, http: httpx.AsyncClient, url: str, time_limit: float
    ) -> _ProbeOutcome:
        """Make one GET and classify it; transport errors become outcomes."""
        try:
            # asyncio.timeout bounds the whole attempt: httpx's timeouts are per operation,
            # and a body trickling in slowly would otherwise outlive the deadline.
            async with asyncio.timeout(time_limit):
                async with http.stream("GET", url, timeout=time_limit) as response:
                    head = b""
                    if 200 <= response.status_code <= 399:
                        async for chunk in response.aiter_bytes():
                            head += chunk
                            if len(head) >= _BODY_PEEK_BYTES:
                                break
                    return _classify_http(response.status_code, head[:_BODY_PEEK_BYTES])
        except OutboundRefusedError as exc:
            return _refused(exc)
        except (TimeoutError, httpx.TimeoutException) as exc:
            error = _describe(f"timed out after {time_limit:.3g} s", exc)
            return _ProbeOutcome(False, True, error=error)
        except httpx.ConnectError as exc:
            return _ProbeOutcome(False, True, error=_describe("connection failed", exc))
        except (httpx.UnsupportedProtocol, httpx.InvalidURL) as exc:
            return _ProbeOutcome(False, False, error=_describe("invalid endpoint URL", exc))
        except httpx.HTTPError as exc:
            # Dropped connections and protocol errors: typical of a proxy whose app restarts.
            return _ProbeOutcome(False, True, error=_describe("connection error", exc))


async def _connect_once(
    guard: OutboundGuard, host: str, port: int, time_limit: float
) -> _ProbeOutcome:
    """Open and close one TCP connection; any failure but a refusal is worth another try."""
    try:
        async with asyncio.timeout(time_limit):
            _, writer = await open_guarded_connection(guard, host, port)
    except OutboundRefusedError as exc:
        return _refused(exc)
    except TimeoutError as exc:  # before OSError: TimeoutError is one of its subclasses
        error = _describe(f"timed out after {time_limit:.3g} s", exc)
        return _ProbeOutcome(False, True, error=error)
    except OSError as exc:
        return _ProbeOutcome(False, True, error=_describe("connection failed", exc))
    writer.close()
    # The connect proved the port; a reset while closing does not change that.
    with contextlib.suppress(OSError):
        await writer.wait_closed()
    return _ProbeOutcome(True, False)


async def check_endpoints(
    port_mappings: Iterable[PortMappingLike] | None,
    *,
    attempts: int = DEFAULT_ATTEMPTS,
    deadline: float | None = DEFAULT_DEADLINE_S,
    attempt_timeout: float = 5.0,
    transport: httpx.AsyncBaseTransport | None = None,
    sleep: SleepFn | None = None,
    strict_outbound: bool = False,
    outbound_allow_list: Sequence[str] = (),
) -> HealthReport:
    """Check port mappings with a prober of its own (see ``EndpointProber.check_endpoints``).

    Args:
        port_mappings: Novita ``portMappings`` (models, dicts or objects); None for no ports.
        attempts: Per endpoint, the maximum number of probes.
        deadline: Per endpoint, overall seconds (checks run concurrently).
        attempt_timeout: Seconds allowed per probe.
        transport: An httpx transport for the http probes.
        sleep: Awaitable sleep between attempts (tests pass one that does not wait).
        strict_outbound: Also refuse loopback, private and other non-public targets.
        outbound_allow_list: Host names, addresses or CIDRs strict mode lets through.

    Returns:
        The ``HealthReport``.

    Example:
        >>> import asyncio
        >>> report = asyncio.run(check_endpoints([]))
        >>> report.healthy, report.checked
        (True, [])

    """
    prober = EndpointProber(
        attempt_timeout,
        transport=transport,
        sleep=sleep,
        strict_outbound=strict_outbound,
        outbound_allow_list=outbound_allow_list,
    )
    async with prober:
        return await prober.check_endpoints(port_mappings, attempts=attempts, deadline=deadline)
