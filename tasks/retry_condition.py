"""The retry condition shared by every Novita task: retry only what the client calls retryable."""

from __future__ import annotations

from typing import Any

from prefect.client.schemas.objects import TaskRun
from prefect.states import State


def failure_exception(state: State[Any]) -> BaseException | None:
    """Return the exception a failed task state holds, for sync and async tasks alike.

    In async tasks `state.result()` returns an un-awaited coroutine, so the exception is read
    from `state.data` first (it holds the exception object on a Failed state).

    Example:
        ```python
        exc = failure_exception(state)
        ```

    """
    if isinstance(state.data, BaseException):
        return state.data
    try:
        result = state.result(raise_on_failure=False)
    except Exception as exc:  # a result that cannot be read is itself the failure
        return exc
    return result if isinstance(result, BaseException) else None


def retry_if_retryable(task: Any, task_run: TaskRun, state: State[Any]) -> bool:
    """Prefect `retry_condition_fn`: retry transient Novita failures, never bad requests.

    Errors carrying `retryable` (every `NovitaError`) decide for themselves: 408, 429, 5xx,
    timeouts and connection errors are retried; validation, auth, not-found, invalid state
    and capacity errors are not. Anything else (a bug) is not retried either.

    Example:
        ```python
        @task(retries=2, retry_condition_fn=retry_if_retryable)
        async def get_instance(...): ...
        ```

    """
    exc = failure_exception(state)
    return bool(getattr(exc, "retryable", False))
