"""The `reclaim-watch` flow: notice a reclaimed spot machine within a minute, cheaply.

Scheduled every minute, one run at a time. One store query and ONE paginated Novita list
call; `flows/sweeps/reclaims/rules.py` picks the managed instances a migration would take
now (the migration sweep's own rules), and each gets a `novita.instance.reclaimed` event.
The `migration-sweep` deployment's trigger (`prefect.yaml`, `deployments/triggers.py`) runs
a sweep for that instance at once (`instance_ids`); the 15-minute schedule stays as the
safety net. The watcher itself never migrates anything.
"""

# No `from __future__ import annotations` in flow modules: a served flow's parameter types
# must resolve in the process that runs it (see flows/common/parameters.py).

from prefect import flow, get_run_logger
from pydantic import BaseModel, Field

from flows.common.parameters import CredentialsBlock, PoliciesBlock
from flows.common.resources import open_flow_resources
from flows.sweeps.reclaims.events import RECLAIMED_EVENT, announce_reclaims
from flows.sweeps.reclaims.rules import ReclaimNotice, find_reclaims
from store import DesiredState, utc_now
from tasks.novita_instances import list_instances

__all__ = ["RECLAIMED_EVENT", "ReclaimWatchReport", "reclaim_watch"]


class ReclaimWatchReport(BaseModel):
    """What one watch saw and announced."""

    managed: int = Field(description="Managed instances whose desired state is running")
    exited: int = Field(description="Of those, how many Novita reports exited")
    announced: list[ReclaimNotice] = Field(
        default_factory=list, description="Reclaimed instances announced for migration"
    )


@flow(name="reclaim-watch", persist_result=True)
async def reclaim_watch(
    credentials_block: CredentialsBlock = None,
    policies_block: PoliciesBlock = None,
) -> ReclaimWatchReport:
    """Emit `novita.instance.reclaimed` for each reclaimed managed instance to migrate now.

    Args:
        credentials_block: Saved NovitaCredentials block (default: "default", else env).
        policies_block: Saved NovitaPolicies block (cool-down and attempts of migrations).

    Example:
        ```python
        import asyncio
        from flows.reclaim_watch import reclaim_watch

        print([n.instance_id for n in asyncio.run(reclaim_watch()).announced])
        ```

    """
    logger = get_run_logger()
    async with open_flow_resources(credentials_block, None, policies_block) as res:
        records = await res.store.list_instances(desired_state=DesiredState.RUNNING)
        # nothing to watch: no Novita call at all
        live = await list_instances(res.client) if records else []
        found = find_reclaims(
            records,
            live,
            utc_now(),
            res.policies.migration_cooldown_minutes,
            res.policies.migration_max_attempts,
        )
    announced = announce_reclaims(found.reclaimed)
    logger.info(
        "Reclaim watch: %d managed wanted running, %d exited, %d reclaimed announced (%s)",
        len(records),
        found.exited,
        announced,
        ", ".join(f"{n.name} {n.instance_id}" for n in found.reclaimed) or "none",
    )
    return ReclaimWatchReport(managed=len(records), exited=found.exited, announced=found.reclaimed)
