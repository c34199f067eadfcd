"""Wait for a migrate to end, in one wait task; when it failed, say why from its job.

A migrate answers `{}` at once; the instance goes `migrating` and an `instanceMigrate` job
decides. Success: the instance runs again. Failure: it is `exited` again with a status
error, and the job says why. Novita may keep the status error of an earlier failed job on
the instance while it migrates, and may still show `exited` for a moment after the call:
the wait ignores both (`wait_for_status` options), then reads the newest job only when the
migrate failed.
"""

from __future__ import annotations

import time

from clients.novita import Instance, InstanceStatus, Job
from flows.common.resources import FlowResources
from flows.instances.lookup import read_live
from tasks.novita_jobs import list_jobs
from tasks.wait_for_status import InstanceWaitError, wait_for_status

MIGRATE_JOB_TYPE = "instanceMigrate"
MIGRATE_SETTLE_SECONDS = 30.0
"""How long an instance may still show `exited` after the migrate call before the migrate
counts as failed (Novita may take a moment to move it to `migrating`)."""


class MigrateJobFailedError(RuntimeError):
    """The migrate did not bring the instance back (job failed, instance gone, or deadline)."""


def _job_error(job: Job | None, instance: Instance | None) -> str:
    if job is not None and (job.state.error or job.state.message):
        parts = [p for p in (job.state.error, job.state.message) if p]
        return f"instanceMigrate job {job.id} {job.state.state}: {': '.join(parts)}"
    error = instance.status_error if instance is not None else None
    if error is not None and (error.message or error.state):
        return f"Novita reports: {error.message or error.state}"
    return "the instance is exited again after the migrate"


async def wait_for_migration(res: FlowResources, instance_id: str, deadline_at: float) -> Instance:
    """Wait (one task run) until the migrated instance runs; raise when its migrate failed.

    Raises:
        MigrateJobFailedError: exited again (its job's error in the message), gone, or not
            running by `deadline_at` (a `time.monotonic()` instant).

    Example:
        ```python
        instance = await wait_for_migration(res, instance_id, time.monotonic() + 600)
        ```

    """
    policies = res.policies
    try:
        return await wait_for_status(
            res.client,
            instance_id,
            [InstanceStatus.RUNNING],
            deadline_seconds=max(deadline_at - time.monotonic(), 0.0),
            poll_initial_seconds=policies.poll_initial_seconds,
            poll_max_seconds=policies.poll_max_seconds,
            give_up_on=[InstanceStatus.EXITED],
            ignore_status_error=True,
            still_before=[InstanceStatus.EXITED],
            settle_seconds=MIGRATE_SETTLE_SECONDS,
        )
    except InstanceWaitError as exc:
        if exc.last_status != InstanceStatus.EXITED:
            raise MigrateJobFailedError(str(exc)) from exc
        jobs = await list_jobs(res.client, job_type=MIGRATE_JOB_TYPE)
        mine = [j for j in jobs if j.instance_id == instance_id]
        job = max(mine, key=lambda j: (j.created_at is not None, j.created_at), default=None)
        raise MigrateJobFailedError(_job_error(job, await read_live(res, instance_id))) from exc
