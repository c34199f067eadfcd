"""How every Novita task is declared: retries for transient failures, caching only for reads."""

from __future__ import annotations

import datetime
from collections.abc import Callable
from typing import Any

from prefect import task
from prefect.cache_policies import NO_CACHE
from prefect.context import TaskRunContext
from prefect.tasks import exponential_backoff
from prefect.utilities.hashing import hash_objects

from tasks.retry_condition import retry_if_retryable

TASK_RETRIES = 2
"""Task-level retries on top of the client's own (which already absorb short blips)."""

TASK_RETRY_BACKOFF_SECONDS = 2.0
CLIENT_PARAMETERS = frozenset({"client", "prober", "sender"})
"""Parameters that carry live objects (connections, secrets): never part of a cache key."""


def novita_read_cache_key(context: TaskRunContext, parameters: dict[str, Any]) -> str | None:
    """Cache key of a Novita read: the task, the account scope and the other inputs.

    The client parameter is replaced by its `account_scope` (base URL + key fingerprint), so
    credentials never enter the key while two accounts never share a cached answer.

    Example:
        ```python
        @task(cache_key_fn=novita_read_cache_key, cache_expiration=timedelta(minutes=5))
        async def fetch_clusters(client: NovitaClient) -> list[Cluster]: ...
        ```

    """
    client = parameters.get("client")
    scope = getattr(client, "account_scope", None)
    inputs = {k: v for k, v in parameters.items() if k not in CLIENT_PARAMETERS}
    return hash_objects(context.task.task_key, scope, inputs)


def novita_task(
    name: str,
    *,
    cache_ttl: datetime.timedelta | None = None,
    retries: int = TASK_RETRIES,
) -> Callable[[Callable[..., Any]], Any]:
    """Declare a Prefect task wrapping one Novita operation.

    Reads pass `cache_ttl` and are cached per account for that long; mutations leave it out
    and are never cached nor persisted. Retries follow the client's error classes.

    Example:
        ```python
        @novita_task("novita-get-instance")
        async def get_instance(client: NovitaClient, instance_id: str) -> Instance:
            return await client.get_instance(instance_id)
        ```

    """
    options: dict[str, Any] = {
        "name": name,
        "retries": retries,
        "retry_delay_seconds": exponential_backoff(backoff_factor=TASK_RETRY_BACKOFF_SECONDS),
        "retry_jitter_factor": 0.5,
        "retry_condition_fn": retry_if_retryable,
    }
    if cache_ttl is not None:
        options |= {
            "cache_key_fn": novita_read_cache_key,
            "cache_expiration": cache_ttl,
            "persist_result": True,
        }
    else:
        options |= {"cache_policy": NO_CACHE, "persist_result": False}
    return task(**options)
