"""Simulated jobs (``GET /jobs``): the ``instanceMigrate`` job that a migrate creates.

A job knows when it finishes and how (``success`` or ``fail``); its ``state`` is read off
the clock, so it needs no updates: ``running`` until ``finish_at``, the outcome after.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

__all__ = ["USER_ID", "Job"]

USER_ID = "1032922317920824"
"""The simulated account's user id (numeric string, like the live one)."""


@dataclass(eq=False)
class Job:
    """One job.

    Example:
        >>> job = Job("5f2b9c0d1e3a4b6c", "instanceMigrate", "07ed667185a895bb", 100.0, 108.0)
        >>> job.state(107.9), job.state(108.0)
        ('running', 'success')

    """

    id: str
    type: str
    instance_id: str
    created_at: float
    finish_at: float
    outcome: str = "success"
    error: str = ""
    message: str = ""

    def state(self, now: float) -> str:
        """``running`` until the job finishes, then its outcome."""
        return "running" if now < self.finish_at else self.outcome

    def end_now(self, now: float, outcome: str, error: str, message: str) -> None:
        """Finish the job early (e.g. its instance was deleted mid-migration)."""
        if now < self.finish_at:
            self.finish_at = now
            self.outcome, self.error, self.message = outcome, error, message

    def to_api(self, now: float) -> dict[str, Any]:
        """Render as an item of ``GET /jobs``."""
        state = self.state(now)
        done = state != "running"
        return {
            "Id": self.id,
            "user": USER_ID,
            "type": self.type,
            "state": {
                "state": state,
                "error": self.error if done else "",
                "message": self.message if done else "",
            },
            "instanceId": self.instance_id,
            "createdAt": str(int(self.created_at)),
            "envs": [],
            "logAddress": "",
        }
