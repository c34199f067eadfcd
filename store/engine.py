"""Engines and sessions of the store, tuned so several processes can share one database.

SQLite: WAL journal (readers never block the writer), a busy timeout (a writer waits for
the lock instead of failing), foreign keys on, and write transactions opened with
``BEGIN IMMEDIATE`` so the write lock is taken up front: two concurrent writers queue on the
busy timeout instead of failing later with "database is locked" on lock upgrade. Read
transactions stay ``BEGIN`` (deferred) and never block anybody.
"""

from __future__ import annotations

import logging
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import URL, Connection
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

from store.settings import describe_url

logger = logging.getLogger(__name__)

SQLITE_BUSY_TIMEOUT_SECONDS = 30.0
# Execution option that marks a connection's transactions as writes (SQLite: BEGIN IMMEDIATE).
WRITE_OPTION = "novita_store_write"


def create_engine(url: URL, *, echo: bool = False) -> AsyncEngine:
    """Create the async engine for ``url`` with the store's per-backend settings.

    Args:
        url: An async SQLAlchemy URL (see ``store.settings.resolve_state_url``).
        echo: Log every SQL statement (debugging).

    Returns:
        The engine; dispose of it with ``await engine.dispose()``.

    Example:
        >>> from store.settings import resolve_state_url
        >>> engine = create_engine(resolve_state_url("sqlite:////tmp/example-state.db"))
        >>> engine.dialect.name
        'sqlite'

    """
    if url.get_backend_name() == "sqlite":
        engine = create_async_engine(
            url, echo=echo, connect_args={"timeout": SQLITE_BUSY_TIMEOUT_SECONDS}
        )
        _tune_sqlite(engine)
    else:
        engine = create_async_engine(url, echo=echo, pool_pre_ping=True)
    logger.debug("state store engine created for %s", describe_url(url))
    return engine


def _tune_sqlite(engine: AsyncEngine) -> None:
    """Install the SQLite connection pragmas and explicit BEGIN handling on ``engine``."""

    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Autocommit at the driver level: SQLAlchemy's "begin" hook below emits BEGIN itself,
        # which is the documented way to choose the BEGIN flavour with pysqlite/aiosqlite.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        try:
            cursor.execute(f"PRAGMA busy_timeout = {int(SQLITE_BUSY_TIMEOUT_SECONDS * 1000)}")
            cursor.execute("PRAGMA foreign_keys = ON")
            try:
                cursor.execute("PRAGMA journal_mode = WAL")
            except Exception as exc:  # another process may be switching it right now
                logger.warning("could not enable SQLite WAL mode: %s", exc)
            # NORMAL is durable in WAL mode except for the last commits on power loss.
            cursor.execute("PRAGMA synchronous = NORMAL")
        finally:
            cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(connection: Connection) -> None:
        write = connection.get_execution_options().get(WRITE_OPTION, False)
        connection.exec_driver_sql("BEGIN IMMEDIATE" if write else "BEGIN")


def write_engine(engine: AsyncEngine) -> AsyncEngine:
    """Return a view of ``engine`` (same pool) whose transactions are writes.

    Example:
        >>> from store.settings import resolve_state_url
        >>> engine = create_engine(resolve_state_url("sqlite:////tmp/example-state.db"))
        >>> write_engine(engine).get_execution_options()[WRITE_OPTION]
        True

    """
    return engine.execution_options(**{WRITE_OPTION: True})


def session_factories(
    engine: AsyncEngine,
) -> tuple[async_sessionmaker[AsyncSession], async_sessionmaker[AsyncSession]]:
    """Return ``(read_sessions, write_sessions)`` bound to ``engine``.

    Example:
        >>> from store.settings import resolve_state_url
        >>> reads, writes = session_factories(
        ...     create_engine(resolve_state_url("sqlite:////tmp/example-state.db")))

    """
    reads = async_sessionmaker(engine, expire_on_commit=False, autoflush=False)
    writes = async_sessionmaker(write_engine(engine), expire_on_commit=False, autoflush=False)
    return reads, writes
