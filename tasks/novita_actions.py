"""Novita mutations as tasks: create, start, stop, restart, delete, migrate. Never cached."""

from __future__ import annotations

from clients.novita import CreateInstanceRequest, InstanceActionResult, NovitaClient
from tasks.novita_task import novita_task


@novita_task("novita-create-instance")
async def create_instance(client: NovitaClient, request: CreateInstanceRequest) -> str:
    """Create an instance and return its id.

    A create error that may have reached Novita is not retried (the client marks it so): the
    provisioning flow looks the name up again instead of risking a duplicate.

    Example:
        ```python
        instance_id = await create_instance(client, request)
        ```

    """
    return await client.create_instance(request)


@novita_task("novita-start-instance")
async def start_instance(client: NovitaClient, instance_id: str) -> InstanceActionResult:
    """Ask Novita to start a stopped instance.

    Example:
        ```python
        await start_instance(client, instance_id)
        ```

    """
    return await client.start_instance(instance_id)


@novita_task("novita-stop-instance")
async def stop_instance(client: NovitaClient, instance_id: str) -> InstanceActionResult:
    """Ask Novita to stop a running instance.

    Example:
        ```python
        await stop_instance(client, instance_id)
        ```

    """
    return await client.stop_instance(instance_id)


@novita_task("novita-restart-instance")
async def restart_instance(client: NovitaClient, instance_id: str) -> InstanceActionResult:
    """Ask Novita to restart a running instance.

    Example:
        ```python
        await restart_instance(client, instance_id)
        ```

    """
    return await client.restart_instance(instance_id)


@novita_task("novita-delete-instance")
async def delete_instance(client: NovitaClient, instance_id: str) -> InstanceActionResult:
    """Ask Novita to delete an instance (permanent).

    Example:
        ```python
        await delete_instance(client, instance_id)
        ```

    """
    return await client.delete_instance(instance_id)


@novita_task("novita-migrate-instance")
async def migrate_instance(client: NovitaClient, instance_id: str) -> InstanceActionResult:
    """Ask Novita to migrate an instance to other hardware (creates an instanceMigrate job).

    Example:
        ```python
        await migrate_instance(client, instance_id)
        ```

    """
    return await client.migrate_instance(instance_id)
