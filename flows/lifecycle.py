"""The lifecycle flows: `start-instance`, `stop-instance`, `delete-instance`, `mark-instance-used`.

Each flow takes exactly one of `instance_id` or `name` (anything else fails before any
Novita call, naming both fields) and returns a pydantic model. The Python names end in
`_flow` because `tasks.novita_actions` already names the single Novita calls
`start_instance`, `stop_instance`, `delete_instance`:

    from flows.lifecycle import (
        delete_instance_flow, mark_instance_used_flow, start_instance_flow, stop_instance_flow,
    )

What happens to instances the store does not manage (created outside this project but in
the same Novita account): start, stop and delete act on Novita all the same and record the
operation under the instance's id and name (no webhook: there is no owner URL);
mark-instance-used refuses them, since there is no record whose last use could move.

Refusals (`OperationRefusedError`: start while running or while a start is in progress,
stop during a start, anything on a deleted instance) end the flow run Failed with a message
saying why; nothing is asked of Novita then. The steps live in `flows/instance_start.py`,
`flows/instance_stop.py` and `flows/instance_delete.py`; the lookup by id or name in
`flows/instance_lookup.py`.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated

from prefect import flow, get_run_logger
from pydantic import BaseModel, Field

from flows.flow_resources import FlowResources, open_flow_resources
from flows.instance_delete import DeleteResult, Deletion
from flows.instance_lookup import check_selector, find_target
from flows.instance_start import StartResult, Startup
from flows.instance_stop import Shutdown, StopResult
from flows.lifecycle_errors import OperationRefusedError
from flows.provision_parameters import INSTANCE_NAME_PATTERN
from store import LifecycleStatus, OperationKind, OperationOutcome, utc_now

__all__ = [
    "DeleteResult",
    "MarkUsedResult",
    "StartResult",
    "StopResult",
    "delete_instance_flow",
    "mark_instance_used_flow",
    "start_instance_flow",
    "stop_instance_flow",
]

MARK_USED_CLOCK_SKEW = timedelta(minutes=5)
"""A use signal may be this far ahead of our clock; further ahead is refused as a mistake
(a last use in the future would keep the instance from ever being auto-stopped)."""

InstanceIdParam = Annotated[
    str | None,
    Field(
        min_length=1,
        max_length=64,
        pattern=r"^[A-Za-z0-9_-]+$",
        description="Novita instance id (give this or name, not both)",
    ),
]
NameParam = Annotated[
    str | None,
    Field(
        min_length=1,
        max_length=100,
        pattern=INSTANCE_NAME_PATTERN,
        description="Instance name (give this or instance_id, not both)",
    ),
]
DeadlineParam = Annotated[
    float, Field(gt=0, le=240, description="Fail when not done within this many minutes")
]
CredentialsParam = Annotated[
    str | None, Field(description="Saved NovitaCredentials block (default: env)")
]
WebhookSettingsParam = Annotated[
    str | None, Field(description="Saved WebhookSettings block (default: env)")
]
PoliciesParam = Annotated[
    str | None, Field(description="Saved NovitaPolicies block (default: built-ins)")
]


@flow(name="start-instance", persist_result=True)
async def start_instance_flow(
    instance_id: InstanceIdParam = None,
    name: NameParam = None,
    wait_until_ready: Annotated[
        bool, Field(description="Wait for running + healthy endpoints before returning")
    ] = True,
    deadline_minutes: DeadlineParam = 10,
    credentials_block: CredentialsParam = None,
    webhook_settings_block: WebhookSettingsParam = None,
    policies_block: PoliciesParam = None,
) -> StartResult:
    """Start a stopped (exited or failed) instance and bring it back to ready.

    Only an instance Novita reports `exited` and whose status is stopped, exited or failed
    is started; a start while it runs, or while another start is in progress, is refused
    (the claim `→ starting` is atomic). Webhooks: `instance.startup_initiated`, then
    `instance.startup_progress` (running, health_checking), then
    `instance.startup_completed` with the health check, or `instance.startup_failed` with
    the phase and error. A capacity refusal (`INSUFFICIENT_RESOURCE`) puts the status back,
    is reported and fails the run; the instance is never deleted for it.

    Example:
        ```python
        import asyncio
        from flows.lifecycle import start_instance_flow

        result = asyncio.run(start_instance_flow(name="trainer-1"))
        print(result.status, result.connection_details)
        ```

    """
    check_selector(instance_id, name)
    async with open_flow_resources(
        credentials_block, webhook_settings_block, policies_block
    ) as res:
        target = await find_target(res, instance_id, name)
        return await Startup(res, target, wait_until_ready, deadline_minutes).run()


@flow(name="stop-instance", persist_result=True)
async def stop_instance_flow(
    instance_id: InstanceIdParam = None,
    name: NameParam = None,
    force: Annotated[
        bool, Field(description="Stop even while a start, provisioning or migration runs")
    ] = False,
    deadline_minutes: DeadlineParam = 10,
    credentials_block: CredentialsParam = None,
    webhook_settings_block: WebhookSettingsParam = None,
    policies_block: PoliciesParam = None,
) -> StopResult:
    """Stop an instance and wait until Novita reports it exited.

    Already stopped (our status stopped/exited and Novita says exited) is a no-op that says
    so (`already_stopped=True`, no stop call, no webhook). Otherwise: stop, wait for exited,
    status `stopped` with `stopped_at`, desired state `stopped`, history, `instance.stopped`.

    Example:
        ```python
        import asyncio
        from flows.lifecycle import stop_instance_flow

        result = asyncio.run(stop_instance_flow(instance_id="0123456789abcdef"))
        print(result.already_stopped, result.stopped_at)
        ```

    """
    check_selector(instance_id, name)
    async with open_flow_resources(
        credentials_block, webhook_settings_block, policies_block
    ) as res:
        target = await find_target(res, instance_id, name)
        return await Shutdown(res, target, deadline_minutes, force).run()


@flow(name="delete-instance", persist_result=True)
async def delete_instance_flow(
    instance_id: InstanceIdParam = None,
    name: NameParam = None,
    deadline_minutes: DeadlineParam = 10,
    credentials_block: CredentialsParam = None,
    webhook_settings_block: WebhookSettingsParam = None,
    policies_block: PoliciesParam = None,
) -> DeleteResult:
    """Delete an instance for good and wait until Novita has removed it.

    Already gone (not found at Novita, or deleted before) is success. The record ends
    `deleted` with desired state `deleted`; the history and `instance.deleted` say so.

    Example:
        ```python
        import asyncio
        from flows.lifecycle import delete_instance_flow

        result = asyncio.run(delete_instance_flow(name="trainer-1"))
        print(result.status, result.already_gone)
        ```

    """
    check_selector(instance_id, name)
    async with open_flow_resources(
        credentials_block, webhook_settings_block, policies_block
    ) as res:
        target = await find_target(res, instance_id, name)
        return await Deletion(res, target, deadline_minutes).run()


class MarkUsedResult(BaseModel):
    """What `mark-instance-used` returns."""

    instance_id: str
    name: str
    signal_at: datetime = Field(description="The use signal, in UTC")
    last_used_at: datetime | None = Field(description="Last use after this signal")
    previous_last_used_at: datetime | None = None
    moved_forward: bool = Field(description="False: an older signal, last use kept")
    message: str


@flow(name="mark-instance-used", persist_result=True)
async def mark_instance_used_flow(
    instance_id: InstanceIdParam = None,
    name: NameParam = None,
    at: Annotated[
        datetime | None,
        Field(description="When it was used (default now); without a timezone: UTC"),
    ] = None,
    credentials_block: CredentialsParam = None,
    webhook_settings_block: WebhookSettingsParam = None,
    policies_block: PoliciesParam = None,
) -> MarkUsedResult:
    """Record that a managed instance was used, so auto-stop leaves it running.

    `last_used_at` only moves forward: an older signal is recorded in the history as
    skipped and changes nothing. A datetime without a timezone is taken as UTC; one more
    than 5 minutes ahead of now is refused. No Novita call and no webhook (there is no such
    event). Unmanaged or deleted instances are refused.

    Example:
        ```python
        import asyncio
        from flows.lifecycle import mark_instance_used_flow

        result = asyncio.run(mark_instance_used_flow(name="trainer-1"))
        print(result.last_used_at)
        ```

    """
    check_selector(instance_id, name)
    signal_at = _signal_time(at)
    async with open_flow_resources(
        credentials_block, webhook_settings_block, policies_block
    ) as res:
        return await _mark_used(res, instance_id, name, signal_at)


def _signal_time(at: datetime | None) -> datetime:
    """The use signal in UTC: now by default, naive taken as UTC, far future refused."""
    if at is None:
        return utc_now()
    # Prefect's run form and CLI often send datetimes without a zone; UTC is the only
    # reading that does not depend on where the worker runs.
    signal = at.replace(tzinfo=UTC) if at.tzinfo is None else at.astimezone(UTC)
    if signal > utc_now() + MARK_USED_CLOCK_SKEW:
        raise ValueError(
            f"at={signal.isoformat()} is in the future; a use signal must be at most "
            f"{int(MARK_USED_CLOCK_SKEW.total_seconds() // 60)} minutes ahead of now"
        )
    return signal


async def _mark_used(
    res: FlowResources, instance_id: str | None, name: str | None, signal_at: datetime
) -> MarkUsedResult:
    logger = get_run_logger()
    target = await find_target(res, instance_id, name, ask_novita=False)
    record = target.record
    if record is None or record.status == LifecycleStatus.DELETED:
        raise OperationRefusedError(f"{target.label} was deleted; a use signal means nothing now")
    before = record.last_used_at
    updated = await res.store.mark_used(record.instance_id, signal_at)
    # Moved only if this signal is the one now stored (a newer concurrent one may have won).
    moved = updated.last_used_at == signal_at and (before is None or signal_at > before)
    outcome = OperationOutcome.SUCCEEDED if moved else OperationOutcome.SKIPPED
    await res.store.record_operation(
        record.instance_id,
        OperationKind.MARK_USED,
        outcome,
        flow_run_id=res.flow_run_id,
        detail={
            "at": signal_at.isoformat(),
            "previous_last_used_at": before.isoformat() if before else None,
            "moved_forward": moved,
        },
    )
    if moved:
        message = f"Last use of {target.label} set to {signal_at.isoformat()}"
    else:
        message = (
            f"Last use of {target.label} kept at {before.isoformat() if before else None}: "
            f"the signal {signal_at.isoformat()} is older"
        )
    logger.info(message)
    return MarkUsedResult(
        instance_id=record.instance_id,
        name=record.name,
        signal_at=signal_at,
        last_used_at=updated.last_used_at,
        previous_last_used_at=before,
        moved_forward=moved,
        message=message,
    )
