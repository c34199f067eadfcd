"""The use signal that costs no flow run: a Prefect event `novita.instance.used`.

A GPU machine says "I am in use" by emitting one event on its own resource, for example from
a cron line or the training loop (with `PREFECT_API_URL` set, and the instance's Novita id)::

    prefect event emit novita.instance.used --resource-id novita.instance.<instance-id>

(or, where Prefect is not installed, a POST of the same event to `$PREFECT_API_URL/events`:
the README has the curl line).
An event is one row in the Prefect server's event table: no flow run, no task run, no state
store write. `mark-instance-used` stays for people in the UI and the CLI; the auto-stop sweep
counts whichever signal is newer (`flows/sweeps/auto_stop/rules.py`).

The sweep reads the newest use event of every instance in bulk: one events query with
`distinct` resources, newest first, paginated by the server (50 instances a page), within
the longest threshold that can matter.
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import UTC, datetime

from prefect import get_client
from prefect.events.filters import (
    EventFilter,
    EventNameFilter,
    EventOccurredFilter,
    EventOrder,
    EventResourceFilter,
)

from flows.common.events import instance_resource_id

USE_EVENT = "novita.instance.used"
"""The event name a GPU machine emits when it is in use."""

RESOURCE_PREFIX = instance_resource_id("")
"""`novita.instance.`: every instance's resource id starts with it."""

MAX_PAGES = 1000
"""A bound on pages read per call (50,000 instances), so a server bug cannot loop forever."""


def use_event_line(instance_id: str) -> str:
    """The one command a GPU machine runs to say it is in use.

    Example:
        >>> use_event_line("0123456789abcdef")
        'prefect event emit novita.instance.used --resource-id novita.instance.0123456789abcdef'

    """
    return f"prefect event emit {USE_EVENT} --resource-id {instance_resource_id(instance_id)}"


async def newest_use_events(
    since: datetime, until: datetime, instance_ids: Collection[str] | None = None
) -> dict[str, datetime]:
    """When each instance last said it was used: its newest `novita.instance.used` event.

    Args:
        since: Older events are not read (they cannot change a decision any more).
        until: Newer events are not read (a clock far ahead on the machine is not trusted).
        instance_ids: Only these instances (the re-check before one stop); None: all.

    Returns:
        Novita instance id -> when its newest use event occurred (UTC); instances without
        one in the window are absent.

    Raises:
        Exception: whatever the Prefect client raises when the server cannot be read; the
            caller decides (the sweep then stops nothing rather than stop a used machine).

    Example:
        ```python
        used = await newest_use_events(now - timedelta(hours=1), now)
        ```

    """
    if instance_ids is not None and not instance_ids:
        return {}
    if instance_ids is None:
        resources = EventResourceFilter(id_prefix=[RESOURCE_PREFIX], distinct=True)
    else:
        ids = [instance_resource_id(i) for i in instance_ids]
        resources = EventResourceFilter(id=ids, distinct=True)
    query = EventFilter(
        occurred=EventOccurredFilter(since=since, until=until),
        event=EventNameFilter(name=[USE_EVENT]),
        resource=resources,
        order=EventOrder.DESC,
    )
    newest: dict[str, datetime] = {}
    async with get_client() as client:
        page = await client.read_events(filter=query, limit=50)
        for _ in range(MAX_PAGES):
            for event in page.events:
                instance_id = event.resource.id.removeprefix(RESOURCE_PREFIX)
                occurred = event.occurred.astimezone(UTC)
                # distinct already gives one event per resource; max() keeps it right anyway
                if instance_id not in newest or occurred > newest[instance_id]:
                    newest[instance_id] = occurred
            next_page = await page.get_next_page(client)
            if next_page is None:
                break
            page = next_page
    return newest
