"""Fixtures of the store tests: a real SQLite file per test, and PostgreSQL when reachable.

Every store test runs twice, once per backend. PostgreSQL gets a database of its own for
the test run (created here, dropped at the end); set NOVITA_TEST_POSTGRES_URL to point the
tests at another server. When it cannot be reached, the PostgreSQL cases are skipped.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from pathlib import Path

import asyncpg
import pytest
import pytest_asyncio
from sqlalchemy.engine import URL, make_url

from store import StateStore

PG_ADMIN_URL = os.environ.get(
    "NOVITA_TEST_POSTGRES_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/test"
)
TABLES = ("managed_instances", "instance_operations", "webhook_deliveries")


def _asyncpg_dsn(url: URL) -> str:
    return url.set(drivername="postgresql").render_as_string(hide_password=False)


async def _pg_unreachable_reason() -> str | None:
    try:
        connection = await asyncpg.connect(_asyncpg_dsn(make_url(PG_ADMIN_URL)), timeout=3)
    except (OSError, asyncpg.PostgresError, TimeoutError) as exc:
        return f"PostgreSQL not reachable at {make_url(PG_ADMIN_URL)!r}: {exc}"
    await connection.close()
    return None


@asynccontextmanager
async def pg_database() -> AsyncIterator[str]:
    """Create a throw-away PostgreSQL database and drop it afterwards."""
    admin = make_url(PG_ADMIN_URL)
    name = f"novita_store_test_{uuid.uuid4().hex[:12]}"
    connection = await asyncpg.connect(_asyncpg_dsn(admin), timeout=5)
    try:
        await connection.execute(f'CREATE DATABASE "{name}"')
        yield admin.set(database=name).render_as_string(hide_password=False)
    finally:
        await connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await connection.close()


@pytest_asyncio.fixture(scope="session")
async def pg_reason() -> str | None:
    return await _pg_unreachable_reason()


@pytest_asyncio.fixture(scope="session")
async def pg_run_url(pg_reason: str | None) -> AsyncIterator[str]:
    """One PostgreSQL database for the whole run, emptied before each test."""
    if pg_reason:
        pytest.skip(pg_reason)
    async with pg_database() as url:
        yield url


@pytest.fixture(params=["sqlite", "postgresql"])
def backend(request: pytest.FixtureRequest) -> str:
    return request.param


@pytest.fixture
def fresh_database(
    backend: str, tmp_path: Path, pg_reason: str | None
) -> Callable[[], AbstractAsyncContextManager[str]]:
    """Return a factory of brand-new, empty databases (a file, or a PostgreSQL database)."""

    @asynccontextmanager
    async def sqlite_file() -> AsyncIterator[str]:
        yield f"sqlite+aiosqlite:///{tmp_path / f'fresh-{uuid.uuid4().hex[:8]}.db'}"

    if backend == "sqlite":
        return sqlite_file
    if pg_reason:
        pytest.skip(pg_reason)
    return pg_database


@pytest.fixture
def store_url(backend: str, tmp_path: Path, request: pytest.FixtureRequest) -> str:
    """The database of one test: a new SQLite file, or the run's PostgreSQL database."""
    if backend == "sqlite":
        return f"sqlite+aiosqlite:///{tmp_path / 'state.db'}"
    url: str = request.getfixturevalue("pg_run_url")
    return url


async def _empty_postgres_tables(url: str) -> None:
    connection = await asyncpg.connect(_asyncpg_dsn(make_url(url)), timeout=5)
    try:
        exists = await connection.fetchval("SELECT to_regclass('managed_instances') IS NOT NULL")
        if exists:
            await connection.execute(f"TRUNCATE {', '.join(TABLES)} RESTART IDENTITY CASCADE")
    finally:
        await connection.close()


@pytest_asyncio.fixture
async def store(store_url: str, backend: str) -> AsyncIterator[StateStore]:
    if backend == "postgresql":
        await _empty_postgres_tables(store_url)
    async with StateStore(store_url) as opened:
        yield opened
