"""From "Novita says running" to "really serving": wait for running, health-check, mark ready."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from enum import StrEnum

from prefect import get_run_logger
from pydantic import BaseModel, ConfigDict

from clients.endpoint_models import HealthReport
from clients.novita import Instance, InstanceStatus
from flows.common.resources import FlowResources
from store import LifecycleStatus, utc_now
from tasks.probe_endpoints import probe_endpoints
from tasks.wait_for_status import InstanceWaitError, wait_for_status

GIVE_UP_WHILE_WAITING = [InstanceStatus.EXITED]
"""A machine that exits while we wait for it to run will not get there by itself."""

MIN_PROBE_SECONDS = 5.0


class ReadinessPhase(StrEnum):
    """Where a machine is on its way to ready."""

    WAITING_FOR_RUNNING = "waiting_for_running"
    RUNNING = "running"
    HEALTH_CHECKING = "health_checking"
    READY = "ready"


class NotReadyError(RuntimeError):
    """The machine did not become ready; `phase` says which step failed."""

    def __init__(self, message: str, phase: ReadinessPhase, health: HealthReport | None = None):
        super().__init__(message)
        self.phase = phase
        self.health = health


class ReadyInstance(BaseModel):
    """A machine that serves: Novita's view of it and the health check that proved it."""

    model_config = ConfigDict(arbitrary_types_allowed=True)

    instance: Instance
    health: HealthReport


PhaseListener = Callable[[ReadinessPhase, Instance, HealthReport | None], Awaitable[None]]


async def bring_to_ready(
    res: FlowResources,
    instance_id: str,
    deadline_at: float,
    on_phase: PhaseListener,
    *,
    record_in_store: bool = True,
    running: Instance | None = None,
) -> ReadyInstance:
    """Poll until running, health-check every endpoint, then record `ready` in the store.

    The store follows each phase (running → health_checking → ready, with ready_at);
    `on_phase` is called at each one so the caller sends its own events. `deadline_at` is a
    `time.monotonic()` instant shared by both steps. `record_in_store=False` leaves the store
    alone, for an instance Novita knows but this project does not manage. `running`: the
    caller already waited until Novita reported it running (a migration's own wait).

    Raises:
        NotReadyError: not running in time, gone, exited, or unhealthy by the deadline.

    Example:
        ```python
        ready = await bring_to_ready(res, instance_id, time.monotonic() + 600, send_event)
        ```

    """
    logger = get_run_logger()
    policies = res.policies
    try:
        instance = running or await wait_for_status(
            res.client,
            instance_id,
            [InstanceStatus.RUNNING],
            deadline_seconds=max(deadline_at - time.monotonic(), 0.0),
            poll_initial_seconds=policies.poll_initial_seconds,
            poll_max_seconds=policies.poll_max_seconds,
            give_up_on=GIVE_UP_WHILE_WAITING,
        )
    except InstanceWaitError as exc:
        raise NotReadyError(str(exc), ReadinessPhase.WAITING_FOR_RUNNING) from exc
    if record_in_store:
        await res.journal.record_status(instance_id, LifecycleStatus.RUNNING)
    await on_phase(ReadinessPhase.RUNNING, instance, None)

    if record_in_store:
        await res.journal.record_status(instance_id, LifecycleStatus.HEALTH_CHECKING)
    await on_phase(ReadinessPhase.HEALTH_CHECKING, instance, None)
    budget = max(deadline_at - time.monotonic(), MIN_PROBE_SECONDS)
    settings = res.webhook_settings
    probe = probe_endpoints.with_options(task_run_name=f"probe-{instance.name or instance_id}")
    health = await probe(
        instance.port_mappings,
        deadline_seconds=budget,
        strict_outbound=settings.strict_outbound,
        outbound_allow_list=list(settings.outbound_allow_list),
    )
    if not health.healthy:
        failing = ", ".join(
            f"{c.port}/{c.type}: {c.error or c.status_code}" for c in health.unhealthy
        )
        raise NotReadyError(
            f"instance {instance_id} is running but not healthy ({failing})",
            ReadinessPhase.HEALTH_CHECKING,
            health,
        )
    if record_in_store:
        await res.journal.record_status(instance_id, LifecycleStatus.READY, ready_at=utc_now())
    logger.info("Instance %s is ready (%d endpoint(s) healthy)", instance_id, len(health.checked))
    await on_phase(ReadinessPhase.READY, instance, health)
    return ReadyInstance(instance=instance, health=health)


async def quietly(phase: ReadinessPhase, instance: Instance, health: HealthReport | None) -> None:
    """A phase listener that tells nobody: a migration sums the phases up in one webhook."""
