"""Novita mutations as tasks, each returning what the operation MEANT, not just the answer.

Novita's adapter rules live here, so flows never catch them: a task may make more than one
client call to give one operation its meaning.

    task              Novita answers                              outcome
    create_instance   an id                                       created
    create_instance   an error that may have reached Novita       found_after_error when
                      (timeout, 500): the name is looked up,      found in that cluster;
                      twice, `LOOKUP_SETTLE_SECONDS` apart        not found: created again
                                                                  while the client's budget
                                                                  of attempts lasts, then
                                                                  the error
    start_instance    accepted                                    accepted
    start_instance    "invalid state change", a re-read shows     already_starting
                      it starting or running
    stop_instance     "invalid state change", a re-read shows     already_stopping
                      it stopping or exited
    delete_instance   not found                                   already_gone
    migrate_instance  accepted                                    accepted

Every other error is raised as the client's typed error. None of these tasks is cached.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from enum import StrEnum
from typing import Literal

from prefect import get_run_logger
from prefect.exceptions import MissingContextError
from pydantic import BaseModel, Field

from clients.novita import (
    CreateInstanceRequest,
    Instance,
    InstanceActionResult,
    InstanceStatus,
    NovitaClient,
    NovitaError,
    NovitaInvalidStateError,
    NovitaNotFoundError,
)
from store.statuses import NOVITA_STARTING, NOVITA_STOPPING
from tasks.novita_task import novita_task


class ActionOutcome(StrEnum):
    """What a start, stop, delete or migrate came to."""

    ACCEPTED = "accepted"
    ALREADY_STARTING = "already_starting"
    ALREADY_STOPPING = "already_stopping"
    ALREADY_GONE = "already_gone"


class ActionResult(BaseModel):
    """The outcome of one action, with Novita's state when it answered one.

    Example:
        >>> ActionResult(instance_id="0123456789abcdef", outcome="already_gone").outcome
        <ActionOutcome.ALREADY_GONE: 'already_gone'>

    """

    instance_id: str
    outcome: ActionOutcome
    state: str | None = Field(default=None, description="Novita's state, e.g. toStop")
    novita_status: str | None = Field(
        default=None, description="The status a re-read found, for already_* outcomes"
    )

    @property
    def raced(self) -> bool:
        """True when another caller got there first (the action itself was not needed)."""
        return self.outcome in (ActionOutcome.ALREADY_STARTING, ActionOutcome.ALREADY_STOPPING)


class CreateResult(BaseModel):
    """The instance a create made, and whether it was found by name after an error."""

    instance_id: str
    found_after_error: bool = Field(
        default=False,
        description="The create answered with an error that may have reached Novita; the "
        "instance was found under its name in that cluster",
    )


def _accepted(result: InstanceActionResult, instance_id: str) -> ActionResult:
    return ActionResult(instance_id=instance_id, outcome=ActionOutcome.ACCEPTED, state=result.state)


async def _live_status(client: NovitaClient, instance_id: str) -> Instance | None:
    try:
        return await client.get_instance(instance_id)
    except NovitaNotFoundError:
        return None


LOOKUP_SETTLE_SECONDS = 1.0
"""Pause between the two name lookups after an ambiguous create: an instance Novita made
just before answering an error gets this long to show in its list before we create again."""


def _logger() -> logging.Logger | logging.LoggerAdapter[logging.Logger]:
    try:
        return get_run_logger()
    except MissingContextError:  # called as a plain function (tests)
        return logging.getLogger(__name__)


async def _find_created(client: NovitaClient, request: CreateInstanceRequest) -> str | None:
    """The id of the instance of the request's name in its cluster, if Novita lists one."""
    for instance in await client.list_instances(name=request.name):
        same_place = not request.cluster_id or instance.cluster_id == request.cluster_id
        if instance.name == request.name and same_place:
            return instance.id
    return None


@novita_task("novita-create-instance")
async def create_instance(client: NovitaClient, request: CreateInstanceRequest) -> CreateResult:
    """Create an instance; after an ambiguous error, look its name up instead of risking two.

    An error that may have reached Novita (a read timeout, 500, 502, 504) is followed by a
    lookup of the name (again `LOOKUP_SETTLE_SECONDS` later when the first finds nothing):
    found, it is the instance this create made; still not found, Novita did not act, and the
    create is made again while the create requests sent so far are fewer than the client's
    `retry_policy.max_attempts` (the one budget of a Novita call: 4). Errors proving Novita
    did not act (503, 429, refused connections) are retried by the client itself, within
    that same call; a verified re-create is never blind.

    Raises:
        NovitaCapacityError: No room in that cluster (the caller fails over).
        NovitaError: Any other refusal, or the last ambiguous one when no create could be
            confirmed or repeated.

    Example:
        ```python
        created = await create_instance(client, request)
        print(created.instance_id, created.found_after_error)
        ```

    """
    budget = client.retry_policy.max_attempts
    sent = 0
    while True:
        try:
            return CreateResult(instance_id=await client.create_instance(request))
        except NovitaError as exc:
            sent += exc.attempts
            if not exc.maybe_processed or not request.name:
                raise
            found = await _find_created(client, request)
            if found is None:
                await asyncio.sleep(LOOKUP_SETTLE_SECONDS)
                found = await _find_created(client, request)
            if found is not None:
                return CreateResult(instance_id=found, found_after_error=True)
            if sent >= budget:
                raise
            _logger().warning(
                "Create of %s answered an error that may have reached Novita, and no instance"
                " of that name exists: creating it again (%d of %d create requests sent): %s",
                request.name,
                sent,
                budget,
                exc,
            )


RACES: dict[str, tuple[frozenset[InstanceStatus], ActionOutcome]] = {
    "start": (NOVITA_STARTING | {InstanceStatus.RUNNING}, ActionOutcome.ALREADY_STARTING),
    "stop": (NOVITA_STOPPING | {InstanceStatus.EXITED}, ActionOutcome.ALREADY_STOPPING),
}
"""Per action: the Novita statuses showing the same move already under way, and the outcome."""


async def _act_unless_raced(
    client: NovitaClient, instance_id: str, action: Literal["start", "stop"]
) -> ActionResult:
    """Start or stop; "invalid state change" while Novita shows that move under way = raced."""
    act: Callable[[str], Awaitable[InstanceActionResult]] = getattr(client, f"{action}_instance")
    try:
        return _accepted(await act(instance_id), instance_id)
    except NovitaInvalidStateError:
        on_the_way, raced = RACES[action]
        live = await _live_status(client, instance_id)
        if live is None or live.status not in on_the_way:
            raise
        return ActionResult(instance_id=instance_id, outcome=raced, novita_status=live.status_raw)


@novita_task("novita-start-instance")
async def start_instance(client: NovitaClient, instance_id: str) -> ActionResult:
    """Ask Novita to start an exited instance; a start that raced ours is `already_starting`.

    Raises:
        NovitaCapacityError: its resources were taken meanwhile (the machine is kept; start
            it later or migrate it).
        NovitaInvalidStateError: it cannot be started from its status, and no start is under
            way.

    Example:
        ```python
        result = await start_instance(client, instance_id)
        ```

    """
    return await _act_unless_raced(client, instance_id, "start")


@novita_task("novita-stop-instance")
async def stop_instance(client: NovitaClient, instance_id: str) -> ActionResult:
    """Ask Novita to stop a running instance; a stop that raced ours is `already_stopping`.

    Example:
        ```python
        result = await stop_instance(client, instance_id)
        if result.raced:
            ...  # another stop got there first: just wait for exited
        ```

    """
    return await _act_unless_raced(client, instance_id, "stop")


@novita_task("novita-delete-instance")
async def delete_instance(client: NovitaClient, instance_id: str) -> ActionResult:
    """Ask Novita to delete an instance (permanent); not found is `already_gone`.

    Example:
        ```python
        result = await delete_instance(client, instance_id)
        ```

    """
    try:
        return _accepted(await client.delete_instance(instance_id), instance_id)
    except NovitaNotFoundError:
        return ActionResult(instance_id=instance_id, outcome=ActionOutcome.ALREADY_GONE)


@novita_task("novita-migrate-instance")
async def migrate_instance(client: NovitaClient, instance_id: str) -> ActionResult:
    """Ask Novita to migrate an instance (its status goes migrating; a job decides).

    Example:
        ```python
        await migrate_instance(client, instance_id)
        ```

    """
    return _accepted(await client.migrate_instance(instance_id), instance_id)
