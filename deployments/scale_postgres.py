"""PostgreSQL for running at scale: one server, one database for Prefect, one for the store.

The scaled-out set-up keeps two databases on one PostgreSQL server: the Prefect server's own
(``novita_prefect`` by default) and the project's state store (``novita_state``, what
``NOVITA_STATE_URL`` names). This module checks the server answers, creates the databases
when missing and drops throw-away ones (tests). It talks to PostgreSQL with asyncpg, which
the store already depends on; nothing here imports Prefect.

The server is named by a URL without a database, ``postgresql://user[:password]@host:port``
(default ``postgresql://postgres@127.0.0.1:5432``, or ``$NOVITA_SCALE_POSTGRES_URL``).
"""

from __future__ import annotations

import os
import re

import asyncpg
from sqlalchemy.engine import URL, make_url

__all__ = [
    "DEFAULT_POSTGRES_URL",
    "POSTGRES_URL_ENV",
    "PostgresUnavailableError",
    "check_postgres",
    "database_url",
    "drop_database",
    "ensure_database",
    "postgres_server_url",
    "shown_url",
]

POSTGRES_URL_ENV = "NOVITA_SCALE_POSTGRES_URL"
DEFAULT_POSTGRES_URL = "postgresql://postgres@127.0.0.1:5432"

# Database names go into CREATE/DROP DATABASE, which take no bind parameters: allow only
# plain identifiers, so quoting them is all the escaping needed.
_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,62}$")


class PostgresUnavailableError(RuntimeError):
    """PostgreSQL did not answer; the message says where we looked and how to start it."""


def postgres_server_url(url: str | None = None) -> URL:
    """The PostgreSQL server to use: ``url``, else ``$NOVITA_SCALE_POSTGRES_URL``, else local.

    Example:
        >>> postgres_server_url("postgresql://postgres@db.internal:5433").port
        5433

    """
    raw = url or os.environ.get(POSTGRES_URL_ENV, "").strip() or DEFAULT_POSTGRES_URL
    return make_url(raw).set(database=None)


def database_url(server: URL, database: str, driver: str = "postgresql+asyncpg") -> str:
    """The SQLAlchemy URL of one database on ``server`` (password kept: it is for use).

    Args:
        server: From :func:`postgres_server_url`.
        database: Database name.
        driver: SQLAlchemy driver name; Prefect and the store both want asyncpg.

    Example:
        >>> database_url(postgres_server_url(DEFAULT_POSTGRES_URL), "novita_state")
        'postgresql+asyncpg://postgres@127.0.0.1:5432/novita_state'

    """
    _check_name(database)
    return server.set(drivername=driver, database=database).render_as_string(hide_password=False)


def shown_url(url: str | URL) -> str:
    """A URL fit for printing: any password replaced by ``***``.

    Example:
        >>> shown_url("postgresql+asyncpg://app:s3cret@127.0.0.1/novita_state")
        'postgresql+asyncpg://app:***@127.0.0.1/novita_state'

    """
    return make_url(url).render_as_string(hide_password=True)


async def _connect(server: URL, connect_timeout: float) -> asyncpg.Connection:
    try:
        return await asyncpg.connect(
            host=server.host or "127.0.0.1",
            port=server.port or 5432,
            user=server.username or "postgres",
            password=server.password,
            database="postgres",
            timeout=connect_timeout,
        )
    except (OSError, TimeoutError, asyncpg.PostgresError) as exc:
        raise PostgresUnavailableError(
            f"PostgreSQL at {shown_url(server)} is not reachable ({type(exc).__name__}: {exc}). "
            "Start it (on Debian: `.ci/ensure-postgres`, or `pg_ctlcluster "
            "--skip-systemctl-redirect $(ls /etc/postgresql) main start`) or point "
            f"{POSTGRES_URL_ENV} at a reachable server."
        ) from exc


async def check_postgres(server: URL, connect_timeout: float = 5.0) -> str:
    """Connect once and return the server's version line, or raise a clear error.

    Raises:
        PostgresUnavailableError: Nothing answered, or the login was refused.

    Example:
        ```python
        version = asyncio.run(check_postgres(postgres_server_url()))
        ```

    """
    connection = await _connect(server, connect_timeout)
    try:
        return str(await connection.fetchval("SELECT version()"))
    finally:
        await connection.close()


async def ensure_database(server: URL, name: str) -> bool:
    """Create database ``name`` unless it exists; True when it was created.

    Two callers racing to create it are fine: the loser sees "already exists" and reports
    False.

    Example:
        ```python
        created = asyncio.run(ensure_database(postgres_server_url(), "novita_state"))
        ```

    """
    _check_name(name)
    connection = await _connect(server, 10.0)
    try:
        if await connection.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", name):
            return False
        try:
            await connection.execute(f'CREATE DATABASE "{name}"')
        except asyncpg.DuplicateDatabaseError:
            return False
        return True
    finally:
        await connection.close()


async def drop_database(server: URL, name: str) -> bool:
    """Drop database ``name`` if it exists, closing its sessions first; True when dropped.

    Example:
        ```python
        asyncio.run(drop_database(postgres_server_url(), "novita_prefect_test_1a2b"))
        ```

    """
    _check_name(name)
    connection = await _connect(server, 10.0)
    try:
        if not await connection.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", name):
            return False
        # FORCE (PostgreSQL 13+) ends the sessions a stopped server may have left behind.
        await connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        return True
    finally:
        await connection.close()


def _check_name(name: str) -> None:
    if not _NAME.match(name):
        raise ValueError(f"database name {name!r}: use letters, digits and '_' (max 63)")
