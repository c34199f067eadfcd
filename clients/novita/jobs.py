"""Novita jobs: background work such as an instance migration or an image save.

A migrate answers ``{}`` at once; whether it worked is learned from the ``instanceMigrate``
job, whose ``state.state`` ends as ``success`` or ``fail``. The job id arrives as ``Id``
(capital I) and ``createdAt`` as an epoch-seconds string.

Example:
    >>> job = Job.model_validate({"Id": "j1", "type": "instanceMigrate", "instanceId": "a",
    ...     "state": {"state": "fail", "error": "no capacity", "message": ""}})
    >>> job.failed, job.state.error
    (True, 'no capacity')

"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import AliasChoices, BeforeValidator, Field

from clients.novita._base import CheckedText, EpochTime, IdStr, NovitaModel, OptionalStr

__all__ = ["FINISHED_JOB_STATES", "Job", "JobState"]

FINISHED_JOB_STATES = frozenset({"success", "fail", "break"})
"""Job states after which nothing more will happen."""


class JobState(NovitaModel):
    """Where a job is: ``state`` is pulling, running, fail, success or break.

    Example:
        >>> JobState(state="success").state
        'success'

    """

    state: CheckedText = ""
    error: OptionalStr = None
    message: OptionalStr = None


def _job_state(value: Any) -> Any:
    # Be lenient with a bare string ("fail") or null instead of the documented object.
    if value is None or value == "":
        return {}
    if isinstance(value, str):
        return {"state": value}
    return value


class Job(NovitaModel):
    """A Novita job.

    Attributes:
        id: Job id (Novita's ``Id``).
        type: "instanceMigrate", "autoInstanceMigrate", "saveImage"...
        state: The job's state, error and message.
        instance_id: The instance the job is about, if any.
        created_at: UTC creation time, None if unknown.

    Example:
        >>> job = Job.model_validate({"Id": "j1", "type": "instanceMigrate",
        ...     "state": {"state": "success"}, "createdAt": "1768435200"})
        >>> job.id, job.succeeded, job.created_at.year
        ('j1', True, 2026)

    """

    id: IdStr = Field(validation_alias=AliasChoices("Id", "id", "jobId"))
    type: OptionalStr = None
    state: Annotated[JobState, BeforeValidator(_job_state)] = Field(default_factory=JobState)
    instance_id: OptionalStr = None
    created_at: EpochTime = None

    @property
    def finished(self) -> bool:
        """Whether the job reached a final state (success, fail or break).

        Example:
            >>> Job(id="j", state={"state": "running"}).finished
            False

        """
        return self.state.state in FINISHED_JOB_STATES

    @property
    def failed(self) -> bool:
        """Whether the job ended in failure (``fail``; ``break`` means it was cancelled).

        Example:
            >>> Job(id="j", state={"state": "fail"}).failed
            True

        """
        return self.state.state == "fail"

    @property
    def succeeded(self) -> bool:
        """Whether the job ended in success.

        Example:
            >>> Job(id="j", state={"state": "success"}).succeeded
            True

        """
        return self.state.state == "success"
