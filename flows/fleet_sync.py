"""The `fleet-sync` flow: reconcile the store with Novita, redeliver webhooks, publish the fleet.

Scheduled every 10 minutes, one run at a time. It reads the store, then Novita's whole
instance list in ONE task (all pages), decides every change in bulk
(`flows/fleet_reconcile.py`) and writes only the records that moved. Then it sends again the
owner webhooks that are due (`flows/webhook_redelivery.py`) and publishes the `novita-fleet`
table (`flows/fleet_table.py`). Novita instances the store does not manage are reported and
listed in the table, never touched. Nothing is ever asked of Novita beyond the list: fleet-sync
corrects the record, the sweeps and lifecycle flows act.
"""

from __future__ import annotations

from typing import Annotated

from prefect import flow, get_run_logger
from pydantic import BaseModel, Field

from clients.novita import Instance, NovitaError
from flows.fleet_reconcile import (
    BUSY,
    StatusChange,
    abandoned_after,
    apply_changes,
    plan_reconciliation,
)
from flows.fleet_table import publish_fleet_table, unmanaged_instances
from flows.flow_activity import FlowActivity, busy_flow_activity
from flows.flow_resources import FlowResources, open_flow_resources
from flows.provision_parameters import CredentialsBlock, PoliciesBlock, WebhookSettingsBlock
from flows.webhook_redelivery import RedeliveryOutcome, redeliver_due_webhooks
from store import LifecycleStatus, utc_now
from tasks.novita_instances import list_instances


class UnmanagedInstance(BaseModel):
    """A Novita instance of the account that the store does not manage (left alone)."""

    instance_id: str
    name: str
    status: str = Field(description="Novita's status")
    region: str | None = None


class FleetSyncReport(BaseModel):
    """What `fleet-sync` returns.

    Example:
        >>> FleetSyncReport(checked=0).marked_deleted
        []

    """

    checked: int = Field(description="Managed (non-deleted) records compared with Novita")
    changed: list[StatusChange] = Field(
        default_factory=list, description="Records whose status followed Novita: from → to"
    )
    marked_deleted: list[str] = Field(
        default_factory=list, description="Instance ids found gone from Novita, now deleted"
    )
    unmanaged: list[UnmanagedInstance] = Field(
        default_factory=list, description="Novita instances not managed here (untouched)"
    )
    redelivered: list[str] = Field(
        default_factory=list, description="Delivery ids delivered late by this run"
    )
    still_failing: list[str] = Field(
        default_factory=list, description="Delivery ids that failed again (due later)"
    )
    given_up: list[str] = Field(
        default_factory=list, description="Delivery ids out of attempts: no more retries"
    )
    fleet_table_published: bool = False


MaxRedeliveries = Annotated[
    int, Field(ge=0, le=10000, description="Due webhook deliveries sent again per run, at most")
]
RedeliverWebhooks = Annotated[
    bool, Field(description="Send again the owner webhooks that failed and are due")
]


async def _reconcile(res: FlowResources) -> tuple[FleetSyncReport, list[Instance]]:
    """Store first, then Novita's list; decide in bulk, write only what moved."""
    records = await res.store.list_instances()
    live = await list_instances(res.client)
    live_by_id = {instance.id: instance for instance in live}
    now, grace = utc_now(), abandoned_after(res.policies.readiness_deadline_minutes)
    # Ask Prefect only about busy records that would move if nobody were acting on them.
    busy = [r for r in records if r.status in BUSY]
    would_move = plan_reconciliation(
        busy, live_by_id, now, grace, FlowActivity(ended=frozenset(r.instance_id for r in busy))
    )
    candidates = {c.instance_id for c in would_move}
    activity = await busy_flow_activity(res.store, [r for r in busy if r.instance_id in candidates])
    changes = plan_reconciliation(records, live_by_id, now, grace, activity)
    applied = await apply_changes(res, changes, {r.instance_id: r for r in records})
    report = FleetSyncReport(
        checked=len(records),
        changed=applied,
        marked_deleted=[c.instance_id for c in applied if c.to_status is LifecycleStatus.DELETED],
        unmanaged=[
            UnmanagedInstance(
                instance_id=i.id,
                name=i.name,
                status=i.status_raw,
                region=i.cluster_name or i.cluster_id,
            )
            for i in unmanaged_instances(records, live)
        ],
    )
    return report, live


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
            report, live = await _reconcile(res)
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
