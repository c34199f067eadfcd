"""Wait for a migrate to end: the instance leaves `migrating` running, or exited (job failed).

A migrate answers `{}` at once; the instance goes `migrating` and an `instanceMigrate` job
decides. Success: the instance runs again. Failure: it is `exited` again with a status
error, and the job says why. Novita may keep the status error of an earlier failed job on
the instance while it migrates, so this wait does not treat a status error as the end (the
generic status wait does): it polls the status with backoff until it is running, or until
it is exited and the instance's newest `instanceMigrate` job has finished.
"""

from __future__ import annotations

import asyncio
import time

from prefect import get_run_logger

from clients.novita import Instance, InstanceStatus, Job, NovitaNotFoundError
from flows.flow_resources import FlowResources
from tasks.novita_instances import get_instance
from tasks.novita_jobs import list_jobs

MIGRATE_JOB_TYPE = "instanceMigrate"


class MigrateJobFailedError(RuntimeError):
    """The migrate did not bring the instance back (job failed, instance gone, or deadline)."""


async def latest_migrate_job(res: FlowResources, instance_id: str) -> Job | None:
    """The newest `instanceMigrate` job of an instance (one paginated jobs call).

    Example:
        ```python
        job = await latest_migrate_job(res, "0123456789abcdef")
        ```

    """
    jobs = [
        j
        for j in await list_jobs(res.client, job_type=MIGRATE_JOB_TYPE)
        if j.instance_id == instance_id
    ]
    if not jobs:
        return None
    return max(jobs, key=lambda j: (j.created_at is not None, j.created_at))


def _job_error(job: Job | None, instance: Instance) -> str:
    if job is not None and (job.state.error or job.state.message):
        parts = [p for p in (job.state.error, job.state.message) if p]
        return f"instanceMigrate job {job.id} {job.state.state}: {': '.join(parts)}"
    error = instance.status_error
    if error is not None and (error.message or error.state):
        return f"Novita reports: {error.message or error.state}"
    return "the instance is exited again after the migrate"


async def wait_for_migration(res: FlowResources, instance_id: str, deadline_at: float) -> Instance:
    """Poll until the migrated instance runs; raise when its migrate job failed.

    Args:
        res: The run's resources (client, policies for the poll intervals).
        instance_id: The instance being migrated.
        deadline_at: A `time.monotonic()` instant after which the wait gives up.

    Raises:
        MigrateJobFailedError: exited with a finished job (its error in the message), gone,
            or not running by the deadline.

    Example:
        ```python
        instance = await wait_for_migration(res, instance_id, time.monotonic() + 600)
        ```

    """
    logger = get_run_logger()
    policies = res.policies
    wait = policies.poll_initial_seconds
    seen_migrating = False
    while True:
        try:
            instance = await get_instance(res.client, instance_id)
        except NovitaNotFoundError as exc:
            raise MigrateJobFailedError(f"instance {instance_id} no longer exists") from exc
        if instance.status == InstanceStatus.RUNNING:
            return instance
        if instance.status == InstanceStatus.MIGRATING:
            seen_migrating = True
        elif instance.status == InstanceStatus.EXITED:
            job = await latest_migrate_job(res, instance_id)
            if seen_migrating or (job is not None and job.finished):
                raise MigrateJobFailedError(_job_error(job, instance))
            logger.info("Instance %s still exited; its migrate job has not started", instance_id)
        elif instance.status in (InstanceStatus.REMOVED, InstanceStatus.REMOVING):
            raise MigrateJobFailedError(f"instance {instance_id} is being removed")
        left = deadline_at - time.monotonic()
        if left <= 0:
            raise MigrateJobFailedError(
                f"instance {instance_id} still {instance.status_raw} when the deadline passed"
            )
        await asyncio.sleep(min(wait, left))
        wait = min(wait * 2, policies.poll_max_seconds)
