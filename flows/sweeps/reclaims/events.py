"""The `novita.instance.reclaimed` event, which the migration-sweep deployment's trigger runs on.

Resource `novita.instance.<id>` (like every instance event), payload with the plain
`instance_id` that the trigger passes to `migration-sweep` as `instance_ids`
(`deployments/triggers.py`, `prefect.yaml`).
"""

from __future__ import annotations

from prefect.events import emit_event

from flows.common.events import instance_resource_id
from flows.common.run_logger import run_logger
from flows.sweeps.reclaims.rules import ReclaimNotice

RECLAIMED_EVENT = "novita.instance.reclaimed"


def announce_reclaims(notices: list[ReclaimNotice]) -> int:
    """Emit `novita.instance.reclaimed` for each notice; returns how many were emitted.

    Example:
        ```python
        announce_reclaims(find_reclaims(records, live, utc_now(), 30, 3).reclaimed)
        ```

    """
    logger = run_logger(__name__)
    sent = 0
    for notice in notices:
        try:
            emit_event(
                event=RECLAIMED_EVENT,
                resource={
                    "prefect.resource.id": instance_resource_id(notice.instance_id),
                    "prefect.resource.name": notice.name,
                },
                payload=notice.model_dump(mode="json"),
            )
            sent += 1
        except Exception as exc:  # the next watch announces it again
            logger.warning(
                "Reclaim of %s not announced: %s", notice.instance_id, type(exc).__name__
            )
    return sent
