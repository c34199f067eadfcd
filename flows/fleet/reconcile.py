"""Apply fleet-sync's decisions: each change one journal step, then tell owners of gone machines.

What changes is decided by `flows/fleet/rules/reconciliation.py`; here each change is written
as a compare-and-set from the status that was read (a flow that moved the record meanwhile
wins) together with its `sync` history entry, and owners of machines found gone get
`instance.deleted`.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import Any

from prefect import get_run_logger

from clients.novita import Instance
from clients.webhook_payload import WebhookEvent
from flows.common.activity import busy_flow_activity
from flows.common.flow_activity import FlowActivity
from flows.common.notifications import notify_humans
from flows.common.resources import FlowResources
from flows.fleet.report import FleetSyncReport, UnmanagedInstance
from flows.fleet.rules.reconciliation import StatusChange, abandoned_after, plan_reconciliation
from flows.fleet.rules.table_columns import under_managed_names, unmanaged_instances
from store import LifecycleStatus, ManagedInstance, OperationKind, OperationOutcome, utc_now
from store.statuses import BUSY, STOPPED
from tasks.novita_instances import list_instances

WEBHOOK_CONCURRENCY = 10
"""Owner webhooks sent at once when many machines turn out to be gone."""


async def apply_changes(
    res: FlowResources,
    changes: list[StatusChange],
    records: Mapping[str, ManagedInstance],
) -> list[StatusChange]:
    """Write the planned changes; returns those applied (a record moved meanwhile is skipped).

    Each change is a compare-and-set from the status that was read, recorded in the history
    as `sync`; the store emits `novita.instance.<status>`. Owners of machines found gone get
    `instance.deleted` (sent a few at a time; a failed webhook is kept for redelivery).

    Example:
        ```python
        applied = await apply_changes(res, changes, {r.instance_id: r for r in records})
        ```

    """
    logger = get_run_logger()
    applied: list[StatusChange] = []
    now = utc_now()
    for change in changes:
        timestamps: dict[str, Any] = {}
        if change.to_status in STOPPED:
            timestamps["stopped_at"] = now
        sync = res.journal.operation(OperationKind.SYNC, change.instance_id, name=change.name)
        done = await sync.record(
            OperationOutcome.SUCCEEDED,
            {
                "from": str(change.from_status),
                "to": str(change.to_status),
                "novita_status": change.novita_status,
                "reason": change.reason,
            },
            expect={change.from_status},
            status=change.to_status,
            reason=change.reason,
            **timestamps,
        )
        if not done.applied:
            logger.info(
                "%s (%s) changed while syncing; left for the next sync",
                change.name,
                change.instance_id,
            )
            continue
        logger.info(
            "%s (%s): %s -> %s (%s)",
            change.name,
            change.instance_id,
            change.from_status,
            change.to_status,
            change.reason,
        )
        applied.append(change)
    await _tell_owners_of_gone(res, applied, records)
    return applied


async def _tell_owners_of_gone(
    res: FlowResources, applied: list[StatusChange], records: Mapping[str, ManagedInstance]
) -> None:
    limit = asyncio.Semaphore(WEBHOOK_CONCURRENCY)

    async def tell(change: StatusChange) -> None:
        record = records.get(change.instance_id)
        if record is None or not record.webhook_url:
            return
        async with limit:
            await res.webhooks.notify(
                record.webhook_url,
                WebhookEvent.DELETED,
                "deleted",
                change.instance_id,
                {
                    "name": record.name,
                    "region": record.region,
                    "product": record.product_name,
                    "reason": change.reason,
                    "detectedBy": "fleet-sync",
                },
            )

    gone = [c for c in applied if c.to_status is LifecycleStatus.DELETED]
    await asyncio.gather(*(tell(c) for c in gone))


async def reconcile_fleet(res: FlowResources) -> tuple[FleetSyncReport, list[Instance]]:
    """Store first, then Novita's list; decide in bulk, write only what moved.

    Returns:
        The report, and Novita's list (the fleet table reuses it).

    Example:
        ```python
        report, live = await reconcile_fleet(res)
        ```

    """
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
    unmanaged = [
        UnmanagedInstance(
            instance_id=i.id,
            name=i.name,
            status=i.status_raw,
            region=i.cluster_name or i.cluster_id,
        )
        for i in unmanaged_instances(records, live)
    ]
    report = FleetSyncReport(
        checked=len(records),
        changed=applied,
        marked_deleted=[c.instance_id for c in applied if c.to_status is LifecycleStatus.DELETED],
        unmanaged=unmanaged,
        under_managed_names=under_managed_names(records, unmanaged),
    )
    await _report_machines_under_managed_names(res, report.under_managed_names)
    return report, live


async def _report_machines_under_managed_names(
    res: FlowResources, found: list[UnmanagedInstance]
) -> None:
    """A machine under a managed name but in no record bills unseen: tell the humans."""
    if not found:
        return
    listed = "; ".join(f"{i.name} ({i.instance_id}, {i.status})" for i in found[:20])
    get_run_logger().warning(
        "%d Novita instance(s) carry a managed name but no record manages them: %s",
        len(found),
        listed,
    )
    await notify_humans(
        res.policies,
        f"Novita: {len(found)} machine(s) under a managed name, unmanaged",
        "These machines carry the name of a managed machine but are not the one the project "
        f"manages (a duplicate rental, or created outside): {listed}. Delete them or adopt "
        "them (provision-instance with the name adopts only when the managed one is gone).",
    )
