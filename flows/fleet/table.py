"""The `novita-fleet` table artifact: every machine of the account, one row each, in the UI.

One row per managed (non-deleted) instance, then one per Novita instance the store does not
manage (flagged `managed: no`, never acted on). The columns (`FLEET_COLUMNS`):

- `instance`, `name`, `managed` (yes/no), `status` (ours; Novita's for unmanaged ones),
  `novita status`, `desired state`, `region`, `product`;
- `price/h`: what the store recorded at provisioning (USD per hour, all GPUs);
- `running for`: since Novita's last start (`lastStartedAt`), else since ready; `-` unless
  Novita reports running;
- `cost so far`: price/h × hours in `running for`. A rough figure: it ignores billing
  granularity, earlier runs, storage and anything billed outside this run;
- `last used`: the later of the last mark-used signal and the time it became ready;
- `auto-stop in`: minutes until the auto-stop threshold (the instance's own, else the
  policies' default, 20) is reached; `never` for 0, `due` once reached, `-` when auto-stop
  does not apply (not serving, desired state not running, busy, or unmanaged).

`publish_fleet_table(res)` lets any flow republish it; fleet-sync passes the instance list it
already read, so the table costs no extra Novita call there.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any
from uuid import UUID

from prefect import get_run_logger
from prefect.artifacts import acreate_table_artifact

from blocks import NovitaPolicies
from clients.novita import Instance, InstanceStatus
from flows.auto_stop_rules import last_use
from flows.dashboard_format import NONE, format_ago, format_cost, format_duration, format_usd
from flows.flow_resources import FlowResources
from store import DesiredState, LifecycleStatus, ManagedInstance, utc_now
from tasks.novita_instances import list_instances

FLEET_ARTIFACT_KEY = "novita-fleet"
MAX_FLEET_ROWS = 2000
"""A table artifact keeps at most this many rows; the description says when rows were left out."""

FLEET_COLUMNS = (
    "instance",
    "name",
    "managed",
    "status",
    "novita status",
    "desired state",
    "region",
    "product",
    "price/h",
    "running for",
    "cost so far",
    "last used",
    "auto-stop in",
)
AUTO_STOP_STATUSES = frozenset({LifecycleStatus.READY})
"""Only ready machines are auto-stopped (never one in the middle of a start or provisioning).

The column follows the auto-stop sweep's rules (`flows/auto_stop_rules.py`): desired state
running, our status ready, Novita running, last use = the later of mark-used and ready.
"""


def _logger() -> logging.Logger | logging.LoggerAdapter[logging.Logger]:
    try:
        return get_run_logger()
    except Exception:  # outside a run
        return logging.getLogger(__name__)


def running_since(record: ManagedInstance | None, live: Instance | None) -> datetime | None:
    """When the current run began: Novita's last start, else ready time; None unless running.

    Example:
        >>> running_since(None, Instance(id="a", status="exited")) is None
        True

    """
    if live is None or live.status is not InstanceStatus.RUNNING:
        return None
    return live.last_started_at or (record.ready_at if record else None) or live.created_at


def auto_stop_in(
    record: ManagedInstance, live: Instance | None, default_minutes: int, now: datetime
) -> str:
    """Minutes until auto-stop applies: `never` (threshold 0), `due`, `N min`, or `-`.

    Example:
        >>> rec = ManagedInstance(instance_id="a", name="a", status="ready",
        ...                       ready_at=utc_now(), auto_stop_minutes=0)
        >>> auto_stop_in(rec, Instance(id="a", status="running"), 20, utc_now())
        'never'

    """
    serving = live is not None and live.status is InstanceStatus.RUNNING
    if not serving or record.status not in AUTO_STOP_STATUSES:
        return NONE
    if record.desired_state != DesiredState.RUNNING:
        return NONE
    threshold = default_minutes if record.auto_stop_minutes is None else record.auto_stop_minutes
    if threshold == 0:
        return "never"
    used = last_use(record)
    if used is None:
        return NONE
    left = timedelta(minutes=threshold) - (now - used)
    if left <= timedelta(0):
        return "due"
    return f"{int(left.total_seconds() // 60)} min"


def managed_row(
    record: ManagedInstance, live: Instance | None, policies: NovitaPolicies, now: datetime
) -> dict[str, str]:
    """The table row of a managed instance.

    Example:
        >>> row = managed_row(ManagedInstance(instance_id="a", name="a"), None,
        ...                   NovitaPolicies(), utc_now())
        >>> row["novita status"], row["auto-stop in"]
        ('missing', '-')

    """
    since = running_since(record, live)
    cost = None
    if since is not None and record.price_per_hour is not None:
        hours = Decimal((now - since).total_seconds()) / Decimal(3600)
        cost = record.price_per_hour * max(hours, Decimal(0))
    return {
        "instance": record.instance_id,
        "name": record.name,
        "managed": "yes",
        "status": str(record.status),
        "novita status": live.status_raw if live is not None else "missing",
        "desired state": str(record.desired_state),
        "region": record.region or NONE,
        "product": record.product_name or NONE,
        "price/h": format_usd(record.price_per_hour),
        "running for": NONE if since is None else format_duration(now - since),
        "cost so far": format_cost(cost),
        "last used": format_ago(last_use(record), now),
        "auto-stop in": auto_stop_in(record, live, policies.auto_stop_minutes, now),
    }


def unmanaged_row(instance: Instance, now: datetime) -> dict[str, str]:
    """The table row of a Novita instance the store does not manage (shown, never touched).

    Example:
        >>> unmanaged_row(Instance(id="a", name="x", status="exited"), utc_now())["managed"]
        'no'

    """
    since = running_since(None, instance)
    return {
        "instance": instance.id,
        "name": instance.name,
        "managed": "no",
        "status": instance.status_raw or NONE,
        "novita status": instance.status_raw or NONE,
        "desired state": NONE,
        "region": instance.cluster_name or instance.cluster_id or NONE,
        "product": instance.product_name or NONE,
        "price/h": NONE,
        "running for": NONE if since is None else format_duration(now - since),
        "cost so far": NONE,
        "last used": NONE,
        "auto-stop in": NONE,
    }


def unmanaged_instances(
    records: Iterable[ManagedInstance], live: Iterable[Instance]
) -> list[Instance]:
    """Novita instances no live record manages (removed ones left out), by name.

    Example:
        >>> unmanaged_instances([], [Instance(id="a", name="x", status="running")])[0].id
        'a'

    """
    managed = {r.instance_id for r in records if r.status is not LifecycleStatus.DELETED}
    return sorted(
        (i for i in live if i.id not in managed and i.status is not InstanceStatus.REMOVED),
        key=lambda i: (i.name, i.id),
    )


def fleet_rows(
    records: Iterable[ManagedInstance],
    live: Mapping[str, Instance],
    policies: NovitaPolicies,
    now: datetime | None = None,
) -> list[dict[str, str]]:
    """Rows of the fleet table: managed instances by name, then unmanaged ones by name.

    Args:
        records: Managed records; deleted ones are left out.
        live: Every instance Novita lists, by id.
        policies: For the default auto-stop threshold.
        now: The moment the figures are computed for (default now).

    Example:
        >>> fleet_rows([], {"a": Instance(id="a", name="x", status="running")},
        ...            NovitaPolicies())[0]["managed"]
        'no'

    """
    now = now or utc_now()
    managed = sorted(
        (r for r in records if r.status is not LifecycleStatus.DELETED),
        key=lambda r: (r.name, r.instance_id),
    )
    others = unmanaged_instances(managed, live.values())
    rows = [managed_row(r, live.get(r.instance_id), policies, now) for r in managed]
    return rows + [unmanaged_row(i, now) for i in others]


def fleet_description(rows: list[dict[str, str]], shown: int) -> str:
    """The artifact's description: counts, what cost means, and any rows left out.

    Example:
        >>> fleet_description([], 0).startswith("0 managed")
        True

    """
    managed = sum(1 for r in rows if r["managed"] == "yes")
    running = sum(1 for r in rows if r["novita status"] == InstanceStatus.RUNNING.value)
    text = (
        f"{managed} managed and {len(rows) - managed} unmanaged Novita instances "
        f"({running} running), as of {utc_now():%Y-%m-%d %H:%M} UTC. "
        "Cost so far is rough: price/h x hours since the last start (else since ready); "
        "it ignores billing granularity, earlier runs and storage. Unmanaged instances are "
        "listed, never touched."
    )
    if shown < len(rows):
        text += f" The table shows the first {shown} of {len(rows)} rows."
    return text


async def publish_fleet_table(
    res: FlowResources,
    live: Iterable[Instance] | None = None,
    records: Iterable[ManagedInstance] | None = None,
) -> UUID | None:
    """Publish (a new version of) the `novita-fleet` table artifact; never fails the flow.

    Args:
        res: The run's resources (store, client, policies).
        live: Novita's instance list when the caller already has it; else one list task runs.
        records: The managed records when the caller has fresh ones; else the store is read.

    Returns:
        The artifact id, or None when it could not be published.

    Example:
        ```python
        async with open_flow_resources() as res:
            await publish_fleet_table(res)
        ```

    """
    try:
        if records is None:
            records = await res.store.list_instances()
        if live is None:
            live = await list_instances(res.client)
        rows = fleet_rows(records, {i.id: i for i in live}, res.policies)
        shown = rows[:MAX_FLEET_ROWS]
        table: list[dict[str, Any]] = list(shown) or [dict.fromkeys(FLEET_COLUMNS, NONE)]
        return await acreate_table_artifact(
            table=table, key=FLEET_ARTIFACT_KEY, description=fleet_description(rows, len(shown))
        )
    except Exception as exc:  # the dashboard must not fail the flow that refreshes it
        _logger().warning("Fleet table not published: %s", type(exc).__name__)
        return None
