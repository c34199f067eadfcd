"""Reads of Novita instances: one instance, or every instance of the account (all pages)."""

from __future__ import annotations

from clients.novita import Instance, NovitaClient
from tasks.novita_task import novita_task


@novita_task("novita-get-instance")
async def get_instance(client: NovitaClient, instance_id: str) -> Instance:
    """Read one instance as Novita reports it now.

    Example:
        ```python
        instance = await get_instance(client, "0123456789abcdef")
        ```

    """
    return await client.get_instance(instance_id)


@novita_task("novita-list-instances")
async def list_instances(client: NovitaClient, name: str | None = None) -> list[Instance]:
    """List every instance of the account (all pages), optionally filtered by (fuzzy) name.

    Example:
        ```python
        instances = await list_instances(client)
        ```

    """
    return await client.list_instances(name=name)
