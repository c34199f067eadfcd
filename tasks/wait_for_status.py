"""The one wait: poll one instance until it reaches a wanted status, a dead end, or a deadline.

Every wait of the project (provisioning and start until running, stop until exited, delete
until removed, migrate until running again) is this task: ONE task run however many polls it
takes, each poll a plain client call (the client retries a blip on its own). The wait
between polls doubles from `poll_initial_seconds` up to `poll_max_seconds`.

Options for the waits that need them:
- `missing_is_removed`: Novita answering "not found" means the instance is removed (a
  delete's wait); otherwise it ends the wait with an error.
- `ignore_status_error`: a `statusError` on the instance does not end the wait (a migrate
  retried after a failed one still carries the old job's error while it migrates).
- `still_before` + `settle_seconds`: statuses the instance may still show before the action
  takes effect (a migrate's `exited`); they count as give-up statuses only once the
  instance has left them, or after `settle_seconds`.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterable

from prefect import get_run_logger

from clients.novita import Instance, InstanceStatus, NovitaClient, NovitaNotFoundError
from store.statuses import NOVITA_GONE
from tasks.novita_task import novita_task


class InstanceWaitError(RuntimeError):
    """The instance did not reach the wanted status; `last_status` says where it stopped."""

    def __init__(self, message: str, last_status: str | None, polls: int = 0) -> None:
        super().__init__(message)
        self.last_status = last_status
        self.polls = polls

    def __reduce__(self) -> tuple[type[InstanceWaitError], tuple[str, str | None, int]]:
        # Prefect pickles a failed task's exception; keep the fields across the trip.
        return (type(self), (str(self), self.last_status, self.polls))


def _names(statuses: Iterable[InstanceStatus]) -> str:
    return " or ".join(sorted(str(s) for s in statuses))


def _removed(instance_id: str) -> Instance:
    return Instance(id=instance_id, status=InstanceStatus.REMOVED.value)


@novita_task("novita-wait-for-status")
async def wait_for_status(
    client: NovitaClient,
    instance_id: str,
    wanted: list[InstanceStatus],
    deadline_seconds: float,
    poll_initial_seconds: float = 2.0,
    poll_max_seconds: float = 15.0,
    give_up_on: list[InstanceStatus] | None = None,
    missing_is_removed: bool = False,
    ignore_status_error: bool = False,
    still_before: list[InstanceStatus] | None = None,
    settle_seconds: float = 0.0,
) -> Instance:
    """Poll `GET /gpu/instance` until the status is one of `wanted`; log each change.

    Removal (`toRemove`, `removing`, `removed`) ends the wait, unless `removed` is wanted.

    Raises:
        InstanceWaitError: on the deadline, a removed instance, a status in `give_up_on`,
            or a status error reported by Novita (unless `ignore_status_error`).

    Example:
        ```python
        instance = await wait_for_status(client, instance_id, [InstanceStatus.RUNNING], 600)
        gone = await wait_for_status(client, instance_id, [InstanceStatus.REMOVED], 600,
                                     missing_is_removed=True)
        ```

    """
    logger = get_run_logger()
    wanted_set = set(wanted)
    # Removal is a dead end, unless removal is what the caller waits for.
    dead_ends = set() if InstanceStatus.REMOVED in wanted_set else NOVITA_GONE
    give_up = (set(give_up_on or ()) | dead_ends) - wanted_set
    pending = set(still_before or ())
    started = time.monotonic()
    wait = poll_initial_seconds
    last: str | None = None
    polls = 0
    while True:
        polls += 1
        try:
            instance = await client.get_instance(instance_id)
        except NovitaNotFoundError as exc:
            if not missing_is_removed:
                raise InstanceWaitError(
                    f"instance {instance_id} no longer exists", last, polls
                ) from exc
            instance = _removed(instance_id)
        if instance.status_raw != last:
            logger.info("Instance %s is %s", instance_id, instance.status_raw or "unknown")
            last = instance.status_raw
        if instance.status in wanted_set:
            logger.info("Instance %s reached %s after %d poll(s)", instance_id, last, polls)
            return instance
        elapsed = time.monotonic() - started
        if instance.status not in pending or elapsed >= settle_seconds:
            pending = set()  # it left the statuses it showed before the action took effect
            if instance.status in give_up:
                raise InstanceWaitError(
                    f"instance {instance_id} went {instance.status_raw} instead of "
                    f"{_names(wanted_set)}",
                    instance.status_raw,
                    polls,
                )
        error = instance.status_error
        if not ignore_status_error and error is not None and (error.state or error.message):
            raise InstanceWaitError(
                f"Novita reports an error on instance {instance_id}: "
                f"{error.message or error.state}",
                instance.status_raw,
                polls,
            )
        if elapsed >= deadline_seconds:
            raise InstanceWaitError(
                f"instance {instance_id} still {last} after {elapsed:.0f} s "
                f"(wanted {_names(wanted_set)})",
                last,
                polls,
            )
        await asyncio.sleep(min(wait, max(deadline_seconds - elapsed, 0.05)))
        wait = min(wait * 2, poll_max_seconds)
