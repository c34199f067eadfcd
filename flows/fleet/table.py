"""Publish the `novita-fleet` table artifact: every machine of the account, one row each.

The rows and columns are decided by `flows/fleet/rules/table_columns.py`.
`publish_fleet_table(res)` lets any flow republish it; fleet-sync passes the instance list it
already read, so the table costs no extra Novita call there. The newest `novita.instance.used`
events are read in bulk (one Prefect query) so "last used" and "auto-stop in" agree with the
auto-stop sweep; when they cannot be read the table is published without them.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any
from uuid import UUID

from prefect.artifacts import acreate_table_artifact

from clients.novita import Instance
from flows.common.dashboard_format import NONE
from flows.common.resources import FlowResources
from flows.common.run_logger import run_logger
from flows.common.use_events import newest_use_events
from flows.fleet.rules.table_columns import (
    FLEET_COLUMNS,
    fleet_cost,
    fleet_description,
    fleet_rows,
)
from flows.instances.mark_used import MARK_USED_CLOCK_SKEW
from flows.sweeps.auto_stop.rules import use_event_lookback
from store import ManagedInstance, utc_now
from tasks.novita_instances import list_instances

FLEET_ARTIFACT_KEY = "novita-fleet"
MAX_FLEET_ROWS = 2000
"""A table artifact keeps at most this many rows; the description says when rows were left out."""


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
        records = list(await res.store.list_instances() if records is None else records)
        if live is None:
            live = await list_instances(res.client)
        by_id = {i.id: i for i in live}
        now = utc_now()
        used = await _use_events(records, res.policies.auto_stop_minutes, now)
        rows = fleet_rows(records, by_id, res.policies, now, used)
        shown = rows[:MAX_FLEET_ROWS]
        table: list[dict[str, Any]] = list(shown) or [dict.fromkeys(FLEET_COLUMNS, NONE)]
        description = fleet_description(rows, len(shown), fleet_cost(records, by_id, now))
        return await acreate_table_artifact(
            table=table, key=FLEET_ARTIFACT_KEY, description=description
        )
    except Exception as exc:  # the dashboard must not fail the flow that refreshes it
        run_logger(__name__).warning("Fleet table not published: %s", type(exc).__name__)
        return None


async def _use_events(
    records: Sequence[ManagedInstance], default_threshold: int, now: datetime
) -> dict[str, datetime]:
    """The newest use event of each instance, or none when Prefect's events cannot be read."""
    since = now - use_event_lookback(records, default_threshold)
    try:
        return await newest_use_events(since, now + MARK_USED_CLOCK_SKEW)
    except Exception as exc:  # the table still shows the store's view
        run_logger(__name__).warning("Use events not read: %s", type(exc).__name__)
        return {}
