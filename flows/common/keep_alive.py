"""A busy record's heartbeat: the flow run that owns it touches it while it acts.

A record in a busy status (`store.statuses.BUSY`) belongs to the flow run that put it there.
Prefect tells whether that run still goes, but a worker killed with SIGKILL leaves its run
"Running" in Prefect for good. So the owner also touches the record every
`KEEP_ALIVE_SECONDS` while it acts; a busy record untouched for longer than `BUSY_LEASE`
has no living owner, whatever Prefect says (`flows/common/activity.py`), and fleet-sync or a
new stop, start or migration may take it over within a minute and a half.

The touch itself is a journal step (`Journal.touch_busy`): only the journal writes records.

Example:
    ```python
    beat = KeepAlive(journal.touch_busy, instance_id)
    beat.start()
    ...  # the operation: stop call, wait for exited...
    await beat.stop()
    ```

"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from datetime import timedelta

from store import StepOutcome

logger = logging.getLogger(__name__)

KEEP_ALIVE_SECONDS = 20.0
"""How often an owner touches its busy record."""

BUSY_LEASE = timedelta(seconds=90)
"""A busy record untouched this long has no living owner (four missed heartbeats)."""


class KeepAlive:
    """Touches one busy record every `KEEP_ALIVE_SECONDS` until stopped (or no longer busy).

    Example:
        ```python
        beat = KeepAlive(journal.touch_busy, "0123456789abcdef")
        beat.start()
        await beat.stop()
        ```

    """

    def __init__(self, touch: Callable[[str], Awaitable[StepOutcome]], instance_id: str) -> None:
        self.touch = touch
        self.instance_id = instance_id
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        """Begin touching the record (idempotent)."""
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._beat(), name=f"keep-alive {self.instance_id}")

    async def _beat(self) -> None:
        while True:
            await asyncio.sleep(KEEP_ALIVE_SECONDS)
            try:
                done = await self.touch(self.instance_id)
                # Only while still busy: a touch never revives a finished record. No record
                # yet (a create still under way) is no reason to stop.
                if not done.applied and done.record is not None:
                    return
            except Exception as exc:  # a missed beat only makes the lease run out sooner
                logger.warning("Keep-alive of %s failed: %s", self.instance_id, type(exc).__name__)

    async def stop(self) -> None:
        """Stop touching the record."""
        task, self._task = self._task, None
        if task is not None and not task.done():
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
