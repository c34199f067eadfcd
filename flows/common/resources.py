"""What a flow run works with: the Novita client, the store and its journal, webhooks, policies."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

from prefect.runtime import flow_run

from blocks import NovitaCredentials, NovitaPolicies, WebhookSettings
from clients.novita import NovitaClient
from flows.common.journal import Journal
from flows.common.owner_webhooks import OwnerWebhooks
from store import StateStore


@dataclass
class FlowResources:
    """Open connections for one flow run; built by `open_flow_resources`.

    `store` is for reads; every write about an instance goes through `journal`.
    """

    client: NovitaClient
    store: StateStore
    journal: Journal
    webhooks: OwnerWebhooks
    policies: NovitaPolicies
    webhook_settings: WebhookSettings

    @property
    def flow_run_id(self) -> str | None:
        """The id of the running Prefect flow run, for the operation history."""
        return self.journal.flow_run_id


def current_flow_run_id() -> str | None:
    """The id of the running Prefect flow run, None outside one.

    Example:
        >>> current_flow_run_id() is None
        True

    """
    run_id = flow_run.get_id()
    return str(run_id) if run_id else None


QUIET_LOGGERS = ("httpx", "httpcore")
"""Their INFO lines print every URL they call, query strings included (a webhook's token)."""


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
    for name in QUIET_LOGGERS:
        logging.getLogger(name).setLevel(logging.WARNING)
    credentials = await NovitaCredentials.resolve(credentials_block)
    webhook_settings = await WebhookSettings.resolve(webhook_settings_block)
    policies = await NovitaPolicies.resolve(policies_block)
    store = await StateStore.open()
    try:
        async with credentials.get_client() as client, webhook_settings.get_sender() as sender:
            journal = Journal(store, current_flow_run_id())
            try:
                yield FlowResources(
                    client=client,
                    store=store,
                    journal=journal,
                    webhooks=OwnerWebhooks(store, sender),
                    policies=policies,
                    webhook_settings=webhook_settings,
                )
            finally:
                await journal.close()
    finally:
        await store.close()
