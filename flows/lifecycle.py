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
saying why; nothing is asked of Novita then. The steps live in `flows/instances/`.
"""

# No `from __future__ import annotations` in flow modules: a served flow's parameter types
# must resolve in the process that runs it (see flows/common/parameters.py).

from datetime import datetime
from typing import Annotated

from prefect import flow
from pydantic import Field

from flows.common.parameters import (
    CredentialsBlock,
    InstanceIdParam,
    NameParam,
    OperationDeadline,
    PoliciesBlock,
    WaitUntilReady,
    WebhookSettingsBlock,
)
from flows.common.resources import open_flow_resources
from flows.instances.delete import DeleteResult, Deletion
from flows.instances.lookup import check_selector, open_target
from flows.instances.mark_used import MarkUsedResult, mark_used, signal_time
from flows.instances.start import StartResult, Startup
from flows.instances.stop import Shutdown, StopResult

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


@flow(name="start-instance", persist_result=True)
async def start_instance_flow(
    instance_id: InstanceIdParam = None,
    name: NameParam = None,
    wait_until_ready: WaitUntilReady = True,
    deadline_minutes: OperationDeadline = 10,
    credentials_block: CredentialsBlock = None,
    webhook_settings_block: WebhookSettingsBlock = None,
    policies_block: PoliciesBlock = None,
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

        result = asyncio.run(start_instance_flow(name="trainer-1", wait_until_ready=False))
        print(result.status)  # "starting": the run ended once Novita accepted the start
        ```

    """
    blocks = (credentials_block, webhook_settings_block, policies_block)
    async with open_target(instance_id, name, *blocks) as (res, target):
        return await Startup(res, target, wait_until_ready, deadline_minutes).run()


@flow(name="stop-instance", persist_result=True)
async def stop_instance_flow(
    instance_id: InstanceIdParam = None,
    name: NameParam = None,
    force: Annotated[
        bool, Field(description="Stop even while a start, provisioning or migration runs")
    ] = False,
    deadline_minutes: OperationDeadline = 10,
    credentials_block: CredentialsBlock = None,
    webhook_settings_block: WebhookSettingsBlock = None,
    policies_block: PoliciesBlock = None,
) -> StopResult:
    """Stop an instance and wait until Novita reports it exited.

    Already stopped (our status stopped/exited and Novita says exited) is a no-op that says
    so (`already_stopped=True`, no stop call, no webhook). Otherwise: stop, wait for exited,
    status `stopped` with `stopped_at`, desired state `stopped`, history, `instance.stopped`.
    Of two stops at once, one acts and the other is refused.

    Example:
        ```python
        import asyncio
        from flows.lifecycle import stop_instance_flow

        result = asyncio.run(stop_instance_flow(instance_id="0123456789abcdef"))
        if result.already_stopped:
            print("no stop call was needed")
        print(result.stopped_at)
        ```

    """
    blocks = (credentials_block, webhook_settings_block, policies_block)
    async with open_target(instance_id, name, *blocks) as (res, target):
        return await Shutdown(res, target, deadline_minutes, force).run()


@flow(name="delete-instance", persist_result=True)
async def delete_instance_flow(
    instance_id: InstanceIdParam = None,
    name: NameParam = None,
    deadline_minutes: OperationDeadline = 10,
    credentials_block: CredentialsBlock = None,
    webhook_settings_block: WebhookSettingsBlock = None,
    policies_block: PoliciesBlock = None,
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
    blocks = (credentials_block, webhook_settings_block, policies_block)
    async with open_target(instance_id, name, *blocks) as (res, target):
        return await Deletion(res, target, deadline_minutes).run()


@flow(name="mark-instance-used", persist_result=True)
async def mark_instance_used_flow(
    instance_id: InstanceIdParam = None,
    name: NameParam = None,
    at: Annotated[
        datetime | None,
        Field(description="When it was used (default now); without a timezone: UTC"),
    ] = None,
    credentials_block: CredentialsBlock = None,
    webhook_settings_block: WebhookSettingsBlock = None,
    policies_block: PoliciesBlock = None,
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
    signal_at = signal_time(at)
    async with open_flow_resources(
        credentials_block, webhook_settings_block, policies_block
    ) as res:
        return await mark_used(res, instance_id, name, signal_at)
