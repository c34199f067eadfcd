"""The `novita.migration.failed` event: a migration the sweep could not complete, for automations.

A failed migration does not fail the sweep (the others go on; the report lists it), so a
Prefect automation cannot watch the run's state for it: this event is what
`automations/migration-failed.yaml` reacts to. Resource `novita.instance.<id>`; the payload
carries the sweep's error text, which never holds a secret (the report shows the same).
"""

from __future__ import annotations

from collections.abc import Iterable

from prefect.events import emit_event

from flows.common.events import instance_resource_id
from flows.common.run_logger import run_logger
from flows.sweeps.outcomes import InstanceError

MIGRATION_FAILED_EVENT = "novita.migration.failed"


def announce_failed_migrations(errors: Iterable[InstanceError]) -> int:
    """Emit `novita.migration.failed` for each instance whose migration failed; never raises.

    Example:
        ```python
        announce_failed_migrations(report.errors)
        ```

    """
    sent = 0
    for error in errors:
        try:
            emit_event(
                event=MIGRATION_FAILED_EVENT,
                resource={
                    "prefect.resource.id": instance_resource_id(error.instance_id),
                    "prefect.resource.name": error.name or error.instance_id,
                },
                payload={"instance_id": error.instance_id, "error": error.error},
            )
            sent += 1
        except Exception as exc:  # best effort, like every event
            run_logger(__name__).warning(
                "Migration failure of %s not announced: %s",
                error.instance_id,
                type(exc).__name__,
            )
    return sent
