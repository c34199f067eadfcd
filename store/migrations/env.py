"""Alembic environment of the store, driven from code (see ``store.schema``).

The store hands over its open connection in ``config.attributes["connection"]`` so the
upgrade runs inside the caller's transaction and lock. Without one (``alembic`` used by
hand), an engine is built from ``sqlalchemy.url``; ``--sql`` (offline) renders SQL text.
"""

from __future__ import annotations

import asyncio

from alembic import context
from alembic.autogenerate.api import AutogenContext
from sqlalchemy import JSON
from sqlalchemy.engine import Connection, make_url

from store.engine import create_engine
from store.schema import VERSION_TABLE
from store.tables import Base
from store.types import DecimalAmount, UTCDateTime

config = context.config
target_metadata = Base.metadata

# Autogenerate writes our column types as the storage types they stand for, so migration
# files never import application code (which may change after they were written).
_STORAGE_TYPES = {
    UTCDateTime: "sa.DateTime(timezone=True)",
    DecimalAmount: 'sa.Numeric(18, 8).with_variant(sa.String(40), "sqlite")',
}


def _render_item(kind: str, item: object, autogen_context: AutogenContext) -> str | bool:
    if kind != "type":
        return False
    for column_type, rendered in _STORAGE_TYPES.items():
        if isinstance(item, column_type):
            return rendered
    if isinstance(item, JSON):  # alembic's own JSONB rendering lacks an import of Text
        autogen_context.imports.add("from sqlalchemy.dialects import postgresql")
        return 'sa.JSON().with_variant(postgresql.JSONB(), "postgresql")'
    return False


def _configure(**options: object) -> None:
    context.configure(
        target_metadata=target_metadata,
        version_table=VERSION_TABLE,
        # SQLite cannot ALTER most things; batch mode rebuilds tables there when needed.
        render_as_batch=True,
        compare_type=True,
        render_item=_render_item,
        **options,
    )


def _run(connection: Connection) -> None:
    _configure(connection=connection)
    with context.begin_transaction():
        context.run_migrations()


async def _run_online() -> None:
    engine = create_engine(make_url(config.get_main_option("sqlalchemy.url") or ""))
    try:
        async with engine.begin() as connection:
            await connection.run_sync(_run)
    finally:
        await engine.dispose()


if context.is_offline_mode():
    _configure(url=config.get_main_option("sqlalchemy.url"), literal_binds=True)
    with context.begin_transaction():
        context.run_migrations()
elif (shared := config.attributes.get("connection")) is not None:
    _run(shared)
else:
    asyncio.run(_run_online())
