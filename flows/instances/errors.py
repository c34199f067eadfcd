"""Why a lifecycle flow run ends Failed: refused before acting, or failed while acting.

A refusal (`OperationRefusedError`) means nothing was asked of Novita: the instance is
already running, a start is in progress, it was deleted... The other errors mean the
operation was attempted and did not complete; their message says where and why. None of
them carries a secret: messages are built from statuses, ids, names and Novita's (already
scrubbed) error text.
"""

from __future__ import annotations


class OperationRefusedError(RuntimeError):
    """The operation was refused before any Novita mutation; the instance is unchanged."""


class StartFailedError(RuntimeError):
    """A start was attempted and the instance did not become ready.

    Attributes:
        code: The machine-readable reason also sent in `instance.startup_failed`
            (e.g. `INSUFFICIENT_RESOURCE`, `NOT_READY_HEALTH_CHECKING`).
        phase: Where it failed: `start_request`, `waiting_for_running`, `health_checking`.

    """

    def __init__(self, message: str, code: str = "START_FAILED", phase: str = "unknown") -> None:
        super().__init__(message)
        self.code = code
        self.phase = phase

    def __reduce__(self) -> tuple[type[StartFailedError], tuple[str, str, str]]:
        # Prefect pickles a failed run's exception; keep code and phase across the trip.
        return (type(self), (str(self), self.code, self.phase))


class StopFailedError(RuntimeError):
    """A stop was attempted and Novita did not report the instance exited."""


class DeleteFailedError(RuntimeError):
    """A delete was refused by Novita or the instance was not removed in time."""
