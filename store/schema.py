"""Schema management: alembic migrations run programmatically, no alembic.ini.

``upgrade_to_head`` brings a database to the latest migration; the store calls it on first
use, so a new database gets its tables and an old one gets the new migrations. Concurrent
first use by several processes is serialised: on PostgreSQL by a transaction-scoped advisory
lock, on SQLite by the write lock ``BEGIN IMMEDIATE`` takes; the process that waited then
finds the database at head and does nothing.

Adding a schema change means adding a migration file, never editing an applied one::

    .venv/bin/python -m store revision -m "Add foo to instances" --autogenerate
    .venv/bin/python -m store upgrade      # optional: the store upgrades on first use
    .venv/bin/python -m store current
"""

from __future__ import annotations

import importlib.util
import logging
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import text
from sqlalchemy.engine import URL, Connection
from sqlalchemy.ext.asyncio import AsyncEngine

from store.engine import write_engine

logger = logging.getLogger(__name__)

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"
# Our own version table, so the store can share a database with other alembic users
# (a Prefect server database, for one) without clashing on "alembic_version".
VERSION_TABLE = "novita_store_alembic_version"
# Key of the PostgreSQL advisory lock taken while migrating (any constant bigint).
ADVISORY_LOCK_KEY = 0x4E6F766974615374  # "NovitaSt"


def alembic_config(url: URL | None = None) -> Config:
    """Build the alembic configuration of the store in code.

    Args:
        url: The database to act on; used when alembic connects by itself (CLI use).

    Returns:
        A ``Config`` pointing at ``store/migrations``.

    Example:
        >>> alembic_config().get_main_option("script_location").endswith("migrations")
        True

    """
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.set_main_option("path_separator", "os")
    config.set_main_option("file_template", "%%(rev)s_%%(slug)s")
    config.set_main_option("version_table", VERSION_TABLE)
    if url is not None:
        # ConfigParser interpolates "%": escape it (percent-encoded passwords).
        rendered = url.render_as_string(hide_password=False).replace("%", "%%")
        config.set_main_option("sqlalchemy.url", rendered)
    if importlib.util.find_spec("ruff") is not None:
        # New revision files come out formatted and lint-clean like the rest of the code.
        config.set_section_option("post_write_hooks", "hooks", "ruff_format, ruff_fix")
        for hook, options in (
            ("ruff_format", "format --quiet REVISION_SCRIPT_FILENAME"),
            ("ruff_fix", "check --fix --quiet REVISION_SCRIPT_FILENAME"),
        ):
            config.set_section_option("post_write_hooks", f"{hook}.type", "module")
            config.set_section_option("post_write_hooks", f"{hook}.module", "ruff")
            config.set_section_option("post_write_hooks", f"{hook}.options", options)
    return config


def head_revision() -> str | None:
    """Return the newest migration id shipped with the code.

    Example:
        >>> head_revision()
        '0002'

    """
    return ScriptDirectory.from_config(alembic_config()).get_current_head()


def current_revision(connection: Connection) -> str | None:
    """Return the migration id the database connected to is at (None when empty)."""
    context = MigrationContext.configure(connection, opts={"version_table": VERSION_TABLE})
    return context.get_current_revision()


def _upgrade_locked(connection: Connection) -> None:
    """Upgrade to head inside the connection's transaction, holding the migration lock."""
    if connection.dialect.name == "postgresql":
        # Released at commit; a second process blocks here until the first is done.
        connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": ADVISORY_LOCK_KEY})
    before = current_revision(connection)
    head = head_revision()
    if before == head:
        return
    config = alembic_config()
    config.attributes["connection"] = connection
    command.upgrade(config, "head")
    logger.info("state store schema upgraded from %s to %s", before or "empty", head)


async def upgrade_to_head(engine: AsyncEngine) -> None:
    """Bring the database of ``engine`` to the newest migration, in one transaction.

    Safe to call from several processes at once and on a database already at head (then it
    only reads the version table).

    Args:
        engine: The store engine (``store.engine.create_engine``).

    Example:
        >>> from store.engine import create_engine
        >>> from store.settings import resolve_state_url
        >>> async def main() -> None:
        ...     engine = create_engine(resolve_state_url())
        ...     await upgrade_to_head(engine)
        ...     await engine.dispose()

    """
    # The write view: on SQLite the transaction starts with BEGIN IMMEDIATE (the write lock).
    async with write_engine(engine).begin() as connection:
        await connection.run_sync(_upgrade_locked)
