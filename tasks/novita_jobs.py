"""Reads of Novita jobs (instanceMigrate and friends), all pages."""

from __future__ import annotations

from clients.novita import Job, NovitaClient
from tasks.novita_task import novita_task


@novita_task("novita-list-jobs")
async def list_jobs(
    client: NovitaClient, job_type: str | None = None, state: str | None = None
) -> list[Job]:
    """List the account's jobs, optionally of one type and state.

    Example:
        ```python
        jobs = await list_jobs(client, job_type="instanceMigrate")
        ```

    """
    return await client.list_jobs(type=job_type, state=state)
