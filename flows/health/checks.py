"""The checks of `novita-health`: each one reads what it needs and never raises.

Novita (one cheap call, a short retry budget), the state store (one read), the sweeps (their
deployments and last successful runs, asked of the Prefect API), the failed webhook
deliveries and the instances out of step with Novita. Every reading is turned into a
`CheckResult` by `flows/health/rules.py`; a reading that fails is itself the result (a
store that cannot be opened is `down`), so one broken dependency never hides the others.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import datetime

from prefect.client.orchestration import get_client
from prefect.client.schemas.filters import (
    FlowFilter,
    FlowFilterName,
    FlowRunFilter,
    FlowRunFilterState,
    FlowRunFilterStateType,
)
from prefect.client.schemas.objects import StateType
from prefect.client.schemas.sorting import FlowRunSort
from prefect.exceptions import ObjectNotFound

from blocks import NovitaCredentials
from clients.novita import Instance, NovitaError, RetryPolicy
from flows.health.rules import (
    CheckResult,
    Level,
    SweepSeen,
    judge_deliveries,
    judge_drift,
    judge_novita,
    judge_store,
)
from store import DeliveryStatus, ManagedInstance, StateStore
from tasks.novita_health import NovitaProbe, probe_novita
from tasks.novita_instances import list_instances

SWEEPS = ("auto-stop-sweep", "migration-sweep", "fleet-sync", "reclaim-watch")
"""The scheduled flows whose last success is judged (flow name = deployment name)."""

PROBE_RETRIES = RetryPolicy(max_attempts=2, initial_wait=0.25, budget_seconds=5)
"""A health probe says "down" within seconds, not after an ordinary call's retry budget."""

MAX_DELIVERIES_READ = 1000
"""Failed deliveries counted at most (the reason says "1000" when there are more)."""


@dataclass
class NovitaReading:
    """Novita's probe and, when it answered, the account's instances (for the drift check)."""

    check: CheckResult
    live: list[Instance] | None = None


@dataclass
class StoreReading:
    """The store's check and what it read (records, failed deliveries)."""

    check: CheckResult
    records: list[ManagedInstance] = field(default_factory=list)
    deliveries: CheckResult | None = None


async def read_novita(credentials_block: str | None, slow_ms: float) -> NovitaReading:
    """Probe Novita with the saved credentials; list the instances when it answers.

    Example:
        ```python
        reading = await read_novita(None, slow_ms=2000)
        ```

    """
    try:
        credentials = await NovitaCredentials.resolve(credentials_block)
    except Exception as exc:  # a missing or unreadable block is the answer, not a crash
        return NovitaReading(
            CheckResult(
                name="novita",
                level=Level.DOWN,
                reason=f"no usable credentials ({type(exc).__name__})",
            )
        )
    async with credentials.get_client(retry_policy=PROBE_RETRIES) as client:
        probe: NovitaProbe = await probe_novita(client)
        check = judge_novita(probe.reachable, probe.latency_ms, probe.error, slow_ms)
        if not probe.reachable:
            return NovitaReading(check)
        try:
            live = await list_instances(client)
        except NovitaError as exc:
            return NovitaReading(
                CheckResult(name="novita", level=Level.DEGRADED, reason=f"list failed: {exc}")
            )
    return NovitaReading(check, live)


async def read_store() -> StoreReading:
    """Open the state store, read the managed instances and the failed deliveries.

    Example:
        ```python
        reading = await read_store()
        ```

    """
    started = time.perf_counter()
    try:
        store = await StateStore.open()
    except Exception as exc:
        # only the kind: a driver's message may quote the URL and its password
        return StoreReading(
            judge_store(f"cannot open the state store ({type(exc).__name__})", 0, 0.0)
        )
    try:
        records = await store.list_instances()
        latency_ms = (time.perf_counter() - started) * 1000
        failed = await store.list_deliveries(
            status=DeliveryStatus.FAILED, limit=MAX_DELIVERIES_READ
        )
    except Exception as exc:
        return StoreReading(
            judge_store(f"cannot read the state store ({type(exc).__name__})", 0, 0.0)
        )
    finally:
        await store.close()
    waiting = sum(1 for d in failed if d.next_attempt_at is not None)
    return StoreReading(
        judge_store(None, len(records), latency_ms),
        records,
        judge_deliveries(waiting, len(failed) - waiting),
    )


async def read_sweeps() -> list[SweepSeen]:
    """Each sweep's deployment interval and last successful run, from the Prefect API.

    Example:
        ```python
        seen = await read_sweeps()
        ```

    """
    found = []
    async with get_client() as client:
        for name in SWEEPS:
            interval, deployed_at, paused = None, None, False
            try:
                deployment = await client.read_deployment_by_name(f"{name}/{name}")
            except ObjectNotFound:
                deployment = None
            if deployment is not None:
                active = [s for s in deployment.schedules if s.active]
                intervals = [
                    s.schedule.interval.total_seconds() / 60
                    for s in active
                    if getattr(s.schedule, "interval", None) is not None
                ]
                interval = min(intervals) if intervals else None
                deployed_at = deployment.created
                paused = bool(deployment.paused) or (bool(deployment.schedules) and not active)
            runs = await client.read_flow_runs(
                flow_filter=FlowFilter(name=FlowFilterName(any_=[name])),
                flow_run_filter=FlowRunFilter(
                    state=FlowRunFilterState(
                        type=FlowRunFilterStateType(any_=[StateType.COMPLETED])
                    )
                ),
                sort=FlowRunSort.END_TIME_DESC,
                limit=1,
            )
            last = runs[0].end_time if runs else None
            found.append(
                SweepSeen(
                    name=name,
                    interval_minutes=interval,
                    deployed_at=deployed_at,
                    paused=paused,
                    last_success_at=last,
                )
            )
    return found


def drift_check(
    store: StoreReading, novita: NovitaReading, now: datetime, drift_minutes: float
) -> CheckResult:
    """The drift check needs both readings; without Novita's list it is not judged.

    Example:
        ```python
        check = drift_check(store_reading, novita_reading, utc_now(), drift_minutes=15)
        ```

    """
    if novita.live is None or store.check.level == Level.DOWN:
        # the novita or store check already carries the failure
        return CheckResult(
            name="drift", level=Level.HEALTHY, reason="not judged: Novita or store unreadable"
        )
    return judge_drift(store.records, novita.live, now, drift_minutes)
