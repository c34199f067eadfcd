"""Is Novita reachable with these credentials? One cheap call, its latency, never raising.

`novita-health` asks this once per run. The answer is a value, not an exception: a health
check that raised would end the run before it could say *how* Novita is down. The call is
`GET /clusters` (small, read-only, needs the key); it is never cached, since a cached answer
would hide an outage.
"""

from __future__ import annotations

import time

from pydantic import BaseModel, Field

from clients.novita import NovitaClient, NovitaError
from tasks.novita_task import novita_task


class NovitaProbe(BaseModel):
    """What one probe call found.

    Example:
        >>> NovitaProbe(reachable=False, latency_ms=12.5, error="connection refused").reachable
        False

    """

    reachable: bool = Field(description="Novita answered the call successfully")
    latency_ms: float = Field(description="Time the call took, retries included")
    status_code: int | None = Field(default=None, description="HTTP status of a failed answer")
    error: str | None = Field(default=None, description="Why it failed (no secrets)")


@novita_task("novita-probe")
async def probe_novita(client: NovitaClient) -> NovitaProbe:
    """Call `GET /clusters` once (with the client's retries) and time it; never raises.

    Give it a client with a short retry policy: a health check should say "down" within
    seconds, not after the full retry budget of an ordinary call.

    Example:
        ```python
        async with creds.get_client(retry_policy=RetryPolicy(max_attempts=2)) as client:
            probe = await probe_novita(client)
        ```

    """
    started = time.perf_counter()
    try:
        await client.list_clusters()
    except NovitaError as exc:
        # NovitaError messages never carry the key (clients/novita/redaction.py)
        return NovitaProbe(
            reachable=False,
            latency_ms=_elapsed_ms(started),
            status_code=exc.status_code,
            error=str(exc),
        )
    return NovitaProbe(reachable=True, latency_ms=_elapsed_ms(started))


def _elapsed_ms(started: float) -> float:
    return round((time.perf_counter() - started) * 1000, 1)
