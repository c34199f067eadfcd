"""Health-check an instance's endpoints: http ports by GET, tcp ports by connect."""

from __future__ import annotations

from prefect import get_run_logger, task
from prefect.cache_policies import NO_CACHE

from clients.endpoint_models import HealthReport
from clients.endpoint_prober import EndpointProber
from clients.novita import PortMapping

UNTIL_DEADLINE = 1_000_000
"""An attempt count no deadline lets a probe reach: the deadline is what stops it."""


@task(name="probe-endpoints", cache_policy=NO_CACHE, persist_result=False)
async def probe_endpoints(
    port_mappings: list[PortMapping],
    deadline_seconds: float = 180.0,
    attempts: int | None = None,
    strict_outbound: bool = False,
    outbound_allow_list: list[str] | None = None,
) -> HealthReport:
    """Check every port mapping until healthy, the attempts run out, or the deadline passes.

    `attempts` None: as many as the deadline allows (a provisioning's readiness deadline
    bounds its health checks, not a count of tries).

    Healthy = every checked endpoint answers (http 200-399 without a gateway error page, tcp
    accepts); an instance with no ports is healthy. Retries and backoff live in the prober;
    targets are checked by its outbound guard (`strict_outbound`: private ranges too, except
    the allow-list).

    Example:
        ```python
        report = await probe_endpoints(instance.port_mappings, deadline_seconds=120)
        ```

    """
    logger = get_run_logger()
    mappings = [m.model_dump(include={"port", "endpoint", "type"}) for m in port_mappings]
    async with EndpointProber(
        strict_outbound=strict_outbound, outbound_allow_list=outbound_allow_list or ()
    ) as prober:
        report = await prober.check_endpoints(
            mappings, attempts=attempts or UNTIL_DEADLINE, deadline=deadline_seconds
        )
    for check in report.checked:
        logger.info(
            "Port %s/%s %s after %d attempt(s)%s",
            check.port,
            check.type,
            "healthy" if check.healthy else "unhealthy",
            check.attempts,
            f": {check.error}" if check.error else "",
        )
    return report
