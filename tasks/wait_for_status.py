"""The one wait: poll instances until they reach a wanted status, a dead end, or a deadline.

Every wait of the project (provisioning and start until running, stop until exited, delete
until removed, migrate until running again, a whole fleet until running) is this loop, run
as ONE task run however many polls it takes. One instance is read with `GET /gpu/instance`
(`wait_for_status`); several with one paginated list per poll (`wait_for_statuses`), so a
fleet of a hundred costs a page or two per poll, not a hundred reads. The wait between polls
doubles from `poll_initial_seconds` up to `poll_max_seconds`; the client retries a blip.

Options for the waits that need them:
- `missing_is_removed`: Novita answering "not found" (or no longer listing it) means the
  instance is removed (a delete's wait); otherwise it ends that instance's wait with an error.
- `ignore_status_error`: a `statusError` on the instance does not end the wait (a migrate
  retried after a failed one still carries the old job's error while it migrates).
- `still_before` + `settle_seconds`: statuses the instance may still show before the action
  takes effect (a migrate's `exited`); they count as give-up statuses only once the
  instance has left them, or after `settle_seconds`.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Iterable

from prefect import get_run_logger
from pydantic import BaseModel, ConfigDict, Field

from clients.novita import Instance, InstanceStatus, NovitaClient, NovitaNotFoundError
from store.statuses import NOVITA_GONE
from tasks.novita_task import novita_task

Reader = Callable[[set[str]], Awaitable[dict[str, Instance | None]]]


class InstanceWaitError(RuntimeError):
    """The instance did not reach the wanted status; `last_status` says where it stopped."""

    def __init__(self, message: str, last_status: str | None, polls: int = 0) -> None:
        super().__init__(message)
        self.last_status = last_status
        self.polls = polls

    def __reduce__(self) -> tuple[type[InstanceWaitError], tuple[str, str | None, int]]:
        # Prefect pickles a failed task's exception; keep the fields across the trip.
        return (type(self), (str(self), self.last_status, self.polls))


class WaitFailure(BaseModel):
    """Why one instance of a wait did not reach the wanted status."""

    message: str
    last_status: str | None = None


class WaitOutcome(BaseModel):
    """Where every instance of a wait ended: reached (as last read) or failed (why).

    Example:
        >>> WaitOutcome(polls=3).reached
        {}

    """

    model_config = ConfigDict(arbitrary_types_allowed=True)

    reached: dict[str, Instance] = Field(default_factory=dict)
    failed: dict[str, WaitFailure] = Field(default_factory=dict)
    polls: int = 0


class WaitRules(BaseModel):
    """What a wait looks for (see the module docstring for the options)."""

    wanted: frozenset[InstanceStatus]
    deadline_seconds: float
    poll_initial_seconds: float = 2.0
    poll_max_seconds: float = 15.0
    give_up_on: frozenset[InstanceStatus] = frozenset()
    missing_is_removed: bool = False
    ignore_status_error: bool = False
    still_before: frozenset[InstanceStatus] = frozenset()
    settle_seconds: float = 0.0

    @property
    def give_up(self) -> set[InstanceStatus]:
        """Statuses that end an instance's wait (removal too, unless removal is wanted)."""
        dead_ends = set() if InstanceStatus.REMOVED in self.wanted else set(NOVITA_GONE)
        return (set(self.give_up_on) | dead_ends) - set(self.wanted)


def _names(statuses: Iterable[InstanceStatus]) -> str:
    return " or ".join(sorted(str(s) for s in statuses))


def _removed(instance_id: str) -> Instance:
    return Instance(id=instance_id, status=InstanceStatus.REMOVED.value)


def _judge(
    instance_id: str,
    instance: Instance | None,
    rules: WaitRules,
    elapsed: float,
    pending: set[str],
) -> Instance | WaitFailure | None:
    """One instance after one poll: reached, failed, or None (keep waiting)."""
    if instance is None:
        if not rules.missing_is_removed:
            return WaitFailure(message=f"instance {instance_id} no longer exists")
        instance = _removed(instance_id)
    if instance.status in rules.wanted:
        return instance
    if instance.status not in rules.still_before or elapsed >= rules.settle_seconds:
        pending.discard(instance_id)  # it left what it showed before the action took effect
    if instance_id not in pending and instance.status in rules.give_up:
        return WaitFailure(
            message=f"instance {instance_id} went {instance.status_raw} instead of "
            f"{_names(rules.wanted)}",
            last_status=instance.status_raw,
        )
    error = instance.status_error
    if not rules.ignore_status_error and error is not None and (error.state or error.message):
        return WaitFailure(
            message=f"Novita reports an error on instance {instance_id}: "
            f"{error.message or error.state}",
            last_status=instance.status_raw,
        )
    return None


async def poll_until(read: Reader, instance_ids: Iterable[str], rules: WaitRules) -> WaitOutcome:
    """The loop itself: read the instances still waited for, judge each, sleep, again.

    Example:
        ```python
        outcome = await poll_until(read, ["0123456789abcdef"], WaitRules(
            wanted={InstanceStatus.RUNNING}, deadline_seconds=600))
        ```

    """
    logger = get_run_logger()
    waiting = set(instance_ids)
    pending = set(waiting) if rules.still_before else set()
    last: dict[str, str | None] = {}
    outcome = WaitOutcome()
    started = time.monotonic()
    wait = rules.poll_initial_seconds
    while waiting:
        outcome.polls += 1
        seen = await read(set(waiting))
        elapsed = time.monotonic() - started
        for instance_id in sorted(waiting):
            instance = seen.get(instance_id)
            status = instance.status_raw if instance else None
            if instance is not None and status != last.get(instance_id):
                logger.info("Instance %s is %s", instance_id, status or "unknown")
                last[instance_id] = status
            verdict = _judge(instance_id, instance, rules, elapsed, pending)
            if isinstance(verdict, Instance):
                outcome.reached[instance_id] = verdict
            elif verdict is not None:
                outcome.failed[instance_id] = verdict
            else:
                continue
            waiting.discard(instance_id)
        if not waiting:
            break
        if elapsed >= rules.deadline_seconds:
            for instance_id in waiting:
                outcome.failed[instance_id] = WaitFailure(
                    message=f"instance {instance_id} still {last.get(instance_id)} after "
                    f"{elapsed:.0f} s (wanted {_names(rules.wanted)})",
                    last_status=last.get(instance_id),
                )
            break
        await asyncio.sleep(min(wait, max(rules.deadline_seconds - elapsed, 0.05)))
        wait = min(wait * 2, rules.poll_max_seconds)
    logger.info(
        "Wait over after %d poll(s): %d reached %s, %d did not",
        outcome.polls,
        len(outcome.reached),
        _names(rules.wanted),
        len(outcome.failed),
    )
    return outcome


def _rules(
    wanted: list[InstanceStatus],
    deadline_seconds: float,
    poll_initial_seconds: float,
    poll_max_seconds: float,
    give_up_on: list[InstanceStatus] | None,
    missing_is_removed: bool,
    ignore_status_error: bool,
    still_before: list[InstanceStatus] | None,
    settle_seconds: float,
) -> WaitRules:
    return WaitRules(
        wanted=frozenset(wanted),
        deadline_seconds=deadline_seconds,
        poll_initial_seconds=poll_initial_seconds,
        poll_max_seconds=poll_max_seconds,
        give_up_on=frozenset(give_up_on or ()),
        missing_is_removed=missing_is_removed,
        ignore_status_error=ignore_status_error,
        still_before=frozenset(still_before or ()),
        settle_seconds=settle_seconds,
    )


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

    async def read(_: set[str]) -> dict[str, Instance | None]:
        try:
            return {instance_id: await client.get_instance(instance_id)}
        except NovitaNotFoundError:
            return {instance_id: None}

    rules = _rules(
        wanted,
        deadline_seconds,
        poll_initial_seconds,
        poll_max_seconds,
        give_up_on,
        missing_is_removed,
        ignore_status_error,
        still_before,
        settle_seconds,
    )
    outcome = await poll_until(read, [instance_id], rules)
    if instance_id in outcome.reached:
        return outcome.reached[instance_id]
    failure = outcome.failed[instance_id]
    raise InstanceWaitError(failure.message, failure.last_status, outcome.polls)


@novita_task("novita-wait-for-fleet")
async def wait_for_statuses(
    client: NovitaClient,
    instance_ids: list[str],
    wanted: list[InstanceStatus],
    deadline_seconds: float,
    poll_initial_seconds: float = 2.0,
    poll_max_seconds: float = 15.0,
    give_up_on: list[InstanceStatus] | None = None,
) -> WaitOutcome:
    """Wait for many instances at once: each poll is ONE paginated list of the account.

    An instance Novita no longer lists has failed ("no longer exists"); each ends on its
    own, the wait as a whole when all have ended or the deadline passed.

    Example:
        ```python
        outcome = await wait_for_statuses(client, ids, [InstanceStatus.RUNNING], 600)
        ready = outcome.reached  # instance id -> Instance
        ```

    """

    async def read(waiting: set[str]) -> dict[str, Instance | None]:
        listed = {i.id: i for i in await client.list_instances()}
        return {instance_id: listed.get(instance_id) for instance_id in waiting}

    rules = _rules(
        wanted,
        deadline_seconds,
        poll_initial_seconds,
        poll_max_seconds,
        give_up_on,
        False,
        False,
        None,
        0.0,
    )
    return await poll_until(read, instance_ids, rules)
