"""The `get-instance` flow: how a machine is doing, what it costs so far, how to connect.

By `instance_id` or `name` (exactly one): one live read from Novita plus the store's record.
The details (status and desired state, region, product, price per hour, cost so far, port
mappings, connection details, last use, auto-stop in; a health probe with `probe=true`) are
returned as `InstanceDetails`, published as the `instance-<name>` markdown artifact and logged,
so `prefect deployment run 'get-instance/get-instance' --param name=x --watch` answers in the
terminal. Nothing is changed and no webhook is sent.

An unknown id or name ends the run Failed with a message naming it (no traceback: the run
returns a Failed state; Python callers get the `InstanceLookupError`).
"""

# No `from __future__ import annotations` in flow modules: a served flow's parameter types
# must resolve in the process that runs it (see flows/common/parameters.py).

from prefect import flow
from prefect.states import Failed

from flows.common.parameters import (
    CredentialsBlock,
    InstanceIdParam,
    NameParam,
    PoliciesBlock,
    ProbeNow,
    WebhookSettingsBlock,
)
from flows.common.resources import open_flow_resources
from flows.instances.details import InstanceDetails
from flows.instances.inspection import inspect_instance
from flows.instances.lookup import InstanceLookupError, InstanceSelectorError, check_selector

__all__ = ["InstanceDetails", "get_instance_flow"]


@flow(name="get-instance", persist_result=True)
async def get_instance_flow(
    instance_id: InstanceIdParam = None,
    name: NameParam = None,
    probe: ProbeNow = False,
    credentials_block: CredentialsBlock = None,
    webhook_settings_block: WebhookSettingsBlock = None,
    policies_block: PoliciesBlock = None,
) -> InstanceDetails:
    """Show one instance as it is now: status, cost, how to connect (and its health if asked).

    Args:
        instance_id: Novita instance id (give this or name, not both).
        name: Instance name (give this or instance_id, not both).
        probe: Also health-check its endpoints now (http GET, tcp connect; a few seconds).
        credentials_block: Saved NovitaCredentials block (default: "default", else env).
        webhook_settings_block: Saved WebhookSettings block (its outbound rules guard the probe).
        policies_block: Saved NovitaPolicies block (the default auto-stop threshold).

    Returns:
        `InstanceDetails` (a Failed state carrying `InstanceLookupError` when nobody knows it).

    Example:
        ```python
        import asyncio
        from flows.get_instance import get_instance_flow

        details = asyncio.run(get_instance_flow(name="trainer-1", probe=True))
        print(details.novita_status, details.connection_details.get("ssh"))
        ```

    """
    try:
        check_selector(instance_id, name)
        async with open_flow_resources(
            credentials_block, webhook_settings_block, policies_block
        ) as res:
            return await inspect_instance(res, instance_id, name, probe)
    except (InstanceSelectorError, InstanceLookupError) as exc:
        # A Failed state, not a raise: the CLI's --watch shows the reason, not a traceback.
        return Failed(message=str(exc), data=exc)  # type: ignore[return-value]
