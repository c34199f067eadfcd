"""One rental per name: the claim a provisioning holds while it looks its name up and creates.

Without it, two workers provisioning `trainer-1` at the same instant both find no instance
and both create one, and the second machine bills in no record. The claim is taken in the
store (`StateStore.claim_name`: a row keyed by the name, so two inserts conflict on SQLite
and PostgreSQL) before the lookup, and released once the managed record carries the name.
A provisioning that finds the name claimed waits until it is released, then looks the name
up again: it adopts what the first one created instead of renting a second machine. A claim
whose holder crashed lapses after its lease (the provisioning deadline) and is taken over.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from datetime import timedelta

from flows.common.resources import FlowResources
from flows.common.run_logger import run_logger
from flows.provisioning.creation import ProvisioningFailedError

CLAIM_POLL_SECONDS = 0.5
"""How often a provisioning waiting for a name asks whether it was released."""


class NameClaim:
    """The claim of one provisioning on its name.

    Example:
        ```python
        claim = NameClaim(res, "trainer-1", lease=timedelta(minutes=10))
        waited = await claim.take(deadline_at)
        try:
            ...  # look the name up, adopt or create, record
        finally:
            await claim.release()
        ```

    """

    def __init__(self, res: FlowResources, name: str, lease: timedelta) -> None:
        self.res = res
        self.name = name
        self.lease = lease
        self.holder = uuid.uuid4().hex

    async def take(self, deadline_at: float) -> bool:
        """Claim the name, waiting while another provisioning holds it; True if it waited.

        Raises:
            ProvisioningFailedError: the name was still held at `deadline_at` (a
                `time.monotonic()` instant).

        """
        waited = False
        while not await self.res.store.claim_name(self.name, self.holder, self.lease):
            if not waited:
                run_logger(__name__).info(
                    "Another provisioning is renting a machine named %s: waiting for it",
                    self.name,
                )
            waited = True
            if time.monotonic() >= deadline_at:
                raise ProvisioningFailedError(
                    f"another provisioning of {self.name!r} still holds the name; "
                    "nothing was created",
                    code="NAME_IN_USE",
                )
            await asyncio.sleep(CLAIM_POLL_SECONDS)
        return waited

    async def release(self) -> None:
        """Release the claim (the managed record carries the name from now on)."""
        await self.res.store.release_name(self.name, self.holder)
