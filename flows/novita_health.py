"""The `novita-health` flow: one verdict on the Novita side (healthy, degraded or down).

Scheduled every 5 minutes. It checks (`flows/health/checks.py`): Novita reachable with the
saved credentials (one cheap call, its latency), the state store readable, each sweep's
last successful run within twice its interval, failed webhook deliveries waiting, and
managed instances whose desired state and Novita's status disagree for longer than a sweep
interval. `flows/health/rules.py` judges each check and the verdict (the worst level). The
`novita-health` artifact shows the verdict and every reason; a degraded or down verdict
emits `novita.health.degraded` and ends the run Failed, so automations and notification
blocks alert on it (`automations/`).
"""

# No `from __future__ import annotations` in flow modules: a served flow's parameter types
# must resolve in the process that runs it (see flows/common/parameters.py).

from prefect import flow, get_run_logger

from flows.common.parameters import CredentialsBlock, DriftMinutes, SlowNovitaMs
from flows.health.checks import drift_check, read_novita, read_store, read_sweeps
from flows.health.report import ARTIFACT_KEY, publish_health
from flows.health.rules import CheckResult, HealthVerdict, Level, judge_sweep, overall
from store import utc_now

__all__ = ["ARTIFACT_KEY", "HealthVerdict", "NovitaUnhealthyError", "novita_health"]

DEFAULT_SLOW_MS = 2000.0
DEFAULT_DRIFT_MINUTES = 15.0


class NovitaUnhealthyError(RuntimeError):
    """The verdict was degraded or down; the message names every failing check."""


@flow(name="novita-health", persist_result=True)
async def novita_health(
    slow_ms: SlowNovitaMs = DEFAULT_SLOW_MS,
    drift_minutes: DriftMinutes = DEFAULT_DRIFT_MINUTES,
    credentials_block: CredentialsBlock = None,
) -> HealthVerdict:
    """Check Novita, the store, the sweeps, webhooks and drift; fail unless healthy.

    Args:
        slow_ms: A Novita answer slower than this many milliseconds is degraded.
        drift_minutes: An instance whose desired state and Novita status disagree for
            longer than this many minutes is degraded (default: the migration sweep's 15).
        credentials_block: Saved NovitaCredentials block (default: "default", else env).

    Returns:
        The verdict and each check, when healthy.

    Raises:
        NovitaUnhealthyError: degraded or down (after the artifact and event are out).

    Example:
        ```python
        import asyncio
        from flows.novita_health import novita_health

        print(asyncio.run(novita_health()).verdict)  # healthy
        ```

    """
    logger = get_run_logger()
    novita = await read_novita(credentials_block, slow_ms)
    store = await read_store()
    checks: list[CheckResult] = [novita.check, store.check]
    try:
        now = utc_now()
        checks += [judge_sweep(seen, now) for seen in await read_sweeps()]
    except Exception as exc:  # the Prefect API itself: report it, keep the other checks
        checks.append(
            CheckResult(
                name="sweeps",
                level=Level.DEGRADED,
                reason=f"cannot read the sweeps' runs ({type(exc).__name__})",
            )
        )
    if store.deliveries is not None:
        checks.append(store.deliveries)
    checks.append(drift_check(store, novita, utc_now(), drift_minutes))
    verdict = overall(checks)
    for check in checks:
        log = logger.info if check.level == Level.HEALTHY else logger.warning
        log("%s: %s (%s)", check.name, check.level, check.reason)
    await publish_health(verdict)
    if verdict.verdict != Level.HEALTHY:
        raise NovitaUnhealthyError(verdict.summary())
    logger.info(verdict.summary())
    return verdict
