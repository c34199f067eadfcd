"""The `fleet-sync` flow: reconcile the store with Novita, redeliver webhooks, publish the fleet.

Scheduled every 10 minutes, one run at a time. It reads the store, then Novita's whole
instance list in ONE task (all pages), decides every change in bulk
(`flows/fleet/rules/reconciliation.py`) and writes only the records that moved. Then it
sends again the owner webhooks that are due (`flows/fleet/redelivery.py`) and publishes the
`novita-fleet` table (`flows/fleet/table.py`). Novita instances the store does not manage
are reported and listed in the table, never touched. Nothing is ever asked of Novita beyond
the list: fleet-sync corrects the record, the sweeps and lifecycle flows act.
"""

# No `from __future__ import annotations` in flow modules: a served flow's parameter types
# must resolve in the process that runs it (see flows/common/parameters.py).

from typing import Annotated

from prefect import flow, get_run_logger
from pydantic import Field

from clients.novita import Instance, NovitaError
from flows.common.parameters import (
    CredentialsBlock,
    MaxRedeliveries,
    PoliciesBlock,
    WebhookSettingsBlock,
)
from flows.common.resources import open_flow_resources
from flows.fleet.reconcile import reconcile_fleet
from flows.fleet.redelivery import RedeliveryOutcome, redeliver_due_webhooks
from flows.fleet.report import FleetSyncReport, UnmanagedInstance
from flows.fleet.table import publish_fleet_table

__all__ = ["FleetSyncReport", "UnmanagedInstance", "fleet_sync"]


RedeliverWebhooks = Annotated[
    bool, Field(description="Send again the owner webhooks that failed and are due")
]


@flow(name="fleet-sync", persist_result=True)
async def fleet_sync(
    redeliver_webhooks: RedeliverWebhooks = True,
    max_redeliveries: MaxRedeliveries = 100,
    credentials_block: CredentialsBlock = None,
    webhook_settings_block: WebhookSettingsBlock = None,
    policies_block: PoliciesBlock = None,
) -> FleetSyncReport:
    """Bring the store in line with Novita, redeliver failed webhooks, publish `novita-fleet`.

    A managed record follows Novita where Novita moved without us: exited while we said
    ready (stopped outside, or spot reclaimed) becomes `exited`; running while we said
    stopped becomes `running`; gone from Novita (or `removed`) becomes `deleted` with the
    reason "removed outside the product" and a `sync` entry in the history. A record in a
    busy status (creating, starting, health_checking, migrating, stopping) is left to the
    flow run that made it busy while Prefect says that run still goes; when Prefect cannot
    tell, until the record is untouched for twice the readiness deadline.
    When Novita cannot be listed, webhooks are still redelivered and the run then fails.

    Args:
        redeliver_webhooks: Send again the failed owner webhooks that are due, with their
            exact stored body and the same delivery id.
        max_redeliveries: At most this many deliveries per run (oldest first).
        credentials_block: Saved NovitaCredentials block (default: "default", else env).
        webhook_settings_block: Saved WebhookSettings block (default: "default", else env).
        policies_block: Saved NovitaPolicies block (default: "default", else built-ins).

    Example:
        ```python
        import asyncio
        from flows.fleet_sync import fleet_sync

        report = asyncio.run(fleet_sync())
        print(report.marked_deleted, report.redelivered)
        ```

    """
    logger = get_run_logger()
    async with open_flow_resources(
        credentials_block, webhook_settings_block, policies_block
    ) as res:
        listing_error: NovitaError | None = None
        live: list[Instance] | None = None
        try:
            report, live = await reconcile_fleet(res)
        except NovitaError as exc:
            logger.error("Novita could not be listed; nothing reconciled: %s", exc)
            listing_error, report = exc, FleetSyncReport(checked=0)
        outcome = RedeliveryOutcome()
        if redeliver_webhooks:
            outcome = await redeliver_due_webhooks(res, max_redeliveries)
        report.redelivered = outcome.redelivered
        report.still_failing = outcome.still_failing
        report.given_up = outcome.given_up
        if listing_error is not None:
            raise listing_error
        report.fleet_table_published = await publish_fleet_table(res, live) is not None
    logger.info(
        "Fleet sync: %d checked, %d changed (%d deleted), %d unmanaged; webhooks: %d "
        "redelivered, %d still failing, %d given up",
        report.checked,
        len(report.changed),
        len(report.marked_deleted),
        len(report.unmanaged),
        len(report.redelivered),
        len(report.still_failing),
        len(report.given_up),
    )
    return report
