"""Name claims: while a provisioning looks a name up and creates under it, nobody else does.

Two workers provisioning `trainer-1` at the same instant would both find no instance and
both create one. A claim is a row keyed by the name (the primary key makes two inserts
conflict on SQLite and PostgreSQL alike): the first to insert holds it; a claim whose lease
ran out (its holder crashed) may be taken over. The holder releases it once the managed
record carries the name (the record's own unique live name takes over from there).
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from sqlalchemy import delete, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from store.clock import utc_now
from store.models import NameClaim
from store.tables import NameClaimRow

logger = logging.getLogger(__name__)


class NameClaimRepository:
    """Takes, reads and releases name claims within `session`'s transaction.

    Example:
        >>> async def example(session: AsyncSession) -> None:
        ...     claims = NameClaimRepository(session)
        ...     if await claims.take("trainer-1", "run-1", timedelta(minutes=15)):
        ...         await claims.release("trainer-1", "run-1")

    """

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def take(
        self, name: str, holder: str, lease: timedelta, now: datetime | None = None
    ) -> bool:
        """Claim `name` for `holder` until `now + lease`; False while another holds it.

        The same holder may take it again (its lease is renewed); a lapsed lease is taken
        over.
        """
        now = now or utc_now()
        values = {"holder": holder, "claimed_at": now, "expires_at": now + lease}
        try:
            async with self.session.begin_nested():
                self.session.add(NameClaimRow(name=name, **values))
                await self.session.flush()
            return True
        except IntegrityError:
            pass
        statement = (
            update(NameClaimRow)
            .where(
                NameClaimRow.name == name,
                or_(NameClaimRow.holder == holder, NameClaimRow.expires_at < now),
            )
            .values(**values)
            .execution_options(synchronize_session=False)
        )
        taken = (await self.session.execute(statement)).rowcount == 1
        if taken:
            logger.debug("name %s taken over by %s", name, holder)
        return taken

    async def release(self, name: str, holder: str) -> None:
        """Release `holder`'s claim of `name` (nothing when another holds it now)."""
        await self.session.execute(
            delete(NameClaimRow).where(NameClaimRow.name == name, NameClaimRow.holder == holder)
        )

    async def get(self, name: str) -> NameClaim | None:
        """The claim of `name`, lapsed or not, or None."""
        row = (
            await self.session.execute(select(NameClaimRow).where(NameClaimRow.name == name))
        ).scalar_one_or_none()
        return None if row is None else NameClaim.model_validate(row, from_attributes=True)
