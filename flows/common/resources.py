"""What a flow run works with: the Novita client, the state store, webhooks and policies."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

from prefect.runtime import flow_run

from blocks import NovitaCredentials, NovitaPolicies, WebhookSettings
from clients.novita import NovitaClient
from clients.webhook_sender import WebhookSender
from flows.instance_events import EventingStateStore
from flows.owner_webhooks import OwnerWebhooks
from store import StateStore


@dataclass
class FlowResources:
    """Open connections for one flow run; built by `open_flow_resources`."""

    client: NovitaClient
    store: StateStore
    webhooks: OwnerWebhooks
    policies: NovitaPolicies

    @property
    def flow_run_id(self) -> str | None:
        """The id of the running Prefect flow run, for the operation history."""
        run_id = flow_run.get_id()
        return str(run_id) if run_id else None


@asynccontextmanager
async def open_flow_resources(
    credentials_block: str | None = None,
    webhook_settings_block: str | None = None,
    policies_block: str | None = None,
) -> AsyncIterator[FlowResources]:
    """Resolve the blocks (or environment), open client, store and webhook sender; close all.

    Example:
        ```python
        async with open_flow_resources() as res:
            instance = await get_instance(res.client, instance_id)
        ```

    """
    credentials = await NovitaCredentials.resolve(credentials_block)
    webhook_settings = await WebhookSettings.resolve(webhook_settings_block)
    policies = await NovitaPolicies.resolve(policies_block)
    store = await EventingStateStore.open()
    try:
        async with (
            credentials.get_client() as client,
            WebhookSender(
                webhook_settings.signing_secret, timeout=webhook_settings.timeout_seconds
            ) as sender,
        ):
            yield FlowResources(
                client=client,
                store=store,
                webhooks=OwnerWebhooks(store, sender),
                policies=policies,
            )
    finally:
        await store.close()
