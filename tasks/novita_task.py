"""How every Novita task is declared: one task run per operation, caching only for reads.

Transient failures (408, 429, 5xx, timeouts, lost connections) are retried in ONE place, the
Novita client (``clients.novita.retry``: its ``RetryPolicy`` states the attempts and waits of
every operation, honours ``Retry-After`` and knows that a create may not be repeated
blindly). A Novita task therefore never retries on top of it: with both, a call failing with
503 reached Novita attempts × task runs times (4 × 3 = 12) and waited for both backoffs.
"""

from __future__ import annotations

import datetime
from collections.abc import Callable
from typing import Any

from prefect import task
from prefect.cache_policies import NO_CACHE
from prefect.context import TaskRunContext
from prefect.utilities.hashing import hash_objects

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
    name: str, *, cache_ttl: datetime.timedelta | None = None
) -> Callable[[Callable[..., Any]], Any]:
    """Declare a Prefect task wrapping one Novita operation (no task-level retries).

    Reads pass `cache_ttl` and are cached per account for that long; mutations leave it out
    and are never cached nor persisted. Retries are the client's (see the module docstring).

    Example:
        ```python
        @novita_task("novita-get-instance")
        async def get_instance(client: NovitaClient, instance_id: str) -> Instance:
            return await client.get_instance(instance_id)
        ```

    """
    options: dict[str, Any] = {"name": name, "retries": 0}
    if cache_ttl is not None:
        options |= {
            "cache_key_fn": novita_read_cache_key,
            "cache_expiration": cache_ttl,
            "persist_result": True,
        }
    else:
        options |= {"cache_policy": NO_CACHE, "persist_result": False}
    return task(**options)
