"""Is a flow still acting on a busy instance? Ask Prefect about the run that made it busy.

A record in a busy status (creating, starting, health_checking, migrating, stopping) was put
there by a flow run that recorded a `started` operation with its flow run id. While that run
is not in a final state it owns the record and fleet-sync must not override it; once it has
ended (completed with `wait_until_ready=false`, failed, crashed, cancelled) nobody is acting
and the record may follow Novita at once. When the run cannot be found or Prefect cannot be
asked, the answer is "unknown" and fleet-sync falls back to the record's age. A claim of a
busy record (a stop re-run after a crash) asks the same question: while the run that made it
busy still acts, the claim is refused. A run Prefect still calls Running whose record missed
its heartbeats (`flows/common/keep_alive.py`) was killed unnoticed: it counts as ended.
"""

from __future__ import annotations

from collections.abc import Iterable
from uuid import UUID

from prefect import get_client
from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterId

from flows.common.flow_activity import FlowActivity
from flows.common.keep_alive import BUSY_LEASE
from flows.common.run_logger import run_logger
from store import ManagedInstance, OperationKind, OperationOutcome, StateStore, utc_now

NOT_ACTING_KINDS = frozenset({OperationKind.SYNC, OperationKind.MARK_USED})
"""Operations that never leave a record busy."""

HISTORY_LOOKBACK = 20
"""Operations read per busy record to find the `started` one (newest first)."""


async def _run_that_made_it_busy(store: StateStore, record: ManagedInstance) -> UUID | None:
    for operation in await store.list_operations(record.instance_id, limit=HISTORY_LOOKBACK):
        if operation.kind in NOT_ACTING_KINDS or operation.outcome != OperationOutcome.STARTED:
            continue
        try:
            return UUID(operation.flow_run_id) if operation.flow_run_id else None
        except ValueError:
            return None
    return None


async def busy_flow_activity(
    store: StateStore, busy_records: Iterable[ManagedInstance]
) -> FlowActivity:
    """Find, for each busy record, whether the flow run that made it busy is still going.

    One history read per busy record (few: most records are settled) and ONE Prefect API
    call for all their flow runs. Never raises: what cannot be told stays unknown.

    Example:
        ```python
        activity = await busy_flow_activity(res.store, [r for r in records if r.status in BUSY])
        ```

    """
    records = list(busy_records)
    runs: dict[str, UUID] = {}
    for record in records:
        run_id = await _run_that_made_it_busy(store, record)
        if run_id is not None:
            runs[record.instance_id] = run_id
    if not runs:
        return FlowActivity()
    try:
        async with get_client() as client:
            found = await client.read_flow_runs(
                flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=list(set(runs.values()))))
            )
    except Exception as exc:  # Prefect unreachable: fall back to the records' age
        run_logger(__name__).warning("Flow runs could not be read: %s", type(exc).__name__)
        return FlowActivity()
    final = {run.id for run in found if run.state is not None and run.state.is_final()}
    going = {run.id for run in found} - final
    # A run Prefect calls going, whose record missed its heartbeats, was killed unnoticed.
    now = utc_now()
    stale = {r.instance_id for r in records if now - r.updated_at > BUSY_LEASE}
    return FlowActivity(
        acting=frozenset(i for i, run in runs.items() if run in going and i not in stale),
        ended=frozenset(
            i for i, run in runs.items() if run in final or (run in going and i in stale)
        ),
    )
