"""Poll one instance with backoff until it reaches a wanted status, a dead end, or a deadline."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterable

from prefect import get_run_logger

from clients.novita import Instance, InstanceStatus, NovitaClient, NovitaNotFoundError
from tasks.novita_task import novita_task

DEAD_END_STATUSES = frozenset(
    {InstanceStatus.REMOVED, InstanceStatus.REMOVING, InstanceStatus.TO_REMOVE}
)
"""Statuses from which the wanted status can no longer be reached."""


class InstanceWaitError(RuntimeError):
    """The instance did not reach the wanted status; `last_status` says where it stopped."""

    def __init__(self, message: str, last_status: str | None) -> None:
        super().__init__(message)
        self.last_status = last_status


@novita_task("novita-wait-for-status", retries=0)
async def wait_for_status(
    client: NovitaClient,
    instance_id: str,
    wanted: list[InstanceStatus],
    deadline_seconds: float,
    poll_initial_seconds: float = 2.0,
    poll_max_seconds: float = 15.0,
    give_up_on: list[InstanceStatus] | None = None,
) -> Instance:
    """Poll `GET /gpu/instance` until the status is one of `wanted`; log each change.

    The wait between polls doubles from `poll_initial_seconds` up to `poll_max_seconds`.
    Each read goes through the client's own retries, so a blip does not end the wait.

    Raises:
        InstanceWaitError: on the deadline, a removed instance, a status in `give_up_on`,
            or a status error reported by Novita.

    Example:
        ```python
        instance = await wait_for_status(client, instance_id, [InstanceStatus.RUNNING], 600)
        ```

    """
    logger = get_run_logger()
    wanted_set = set(wanted)
    give_up = (set(give_up_on or ()) | DEAD_END_STATUSES) - wanted_set
    started = time.monotonic()
    wait = poll_initial_seconds
    last: str | None = None
    while True:
        try:
            instance = await client.get_instance(instance_id)
        except NovitaNotFoundError as exc:
            raise InstanceWaitError(f"instance {instance_id} no longer exists", last) from exc
        if instance.status_raw != last:
            logger.info("Instance %s is %s", instance_id, instance.status_raw or "unknown")
            last = instance.status_raw
        if instance.status in wanted_set:
            return instance
        _raise_if_dead_end(instance, give_up, wanted_set)
        elapsed = time.monotonic() - started
        if elapsed >= deadline_seconds:
            raise InstanceWaitError(
                f"instance {instance_id} still {last} after {elapsed:.0f} s "
                f"(wanted {_names(wanted_set)})",
                last,
            )
        await asyncio.sleep(min(wait, max(deadline_seconds - elapsed, 0.05)))
        wait = min(wait * 2, poll_max_seconds)


def _raise_if_dead_end(
    instance: Instance, give_up: set[InstanceStatus], wanted: set[InstanceStatus]
) -> None:
    if instance.status in give_up:
        raise InstanceWaitError(
            f"instance {instance.id} went {instance.status_raw} instead of {_names(wanted)}",
            instance.status_raw,
        )
    error = instance.status_error
    if error is not None and (error.state or error.message):
        detail = error.message or error.state
        raise InstanceWaitError(
            f"Novita reports an error on instance {instance.id}: {detail}", instance.status_raw
        )


def _names(statuses: Iterable[InstanceStatus]) -> str:
    return " or ".join(sorted(str(s) for s in statuses))
