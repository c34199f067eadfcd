"""Schema lifecycle: first use, no-op reopen, concurrent first use, new migrations."""

from __future__ import annotations

import asyncio
import logging
import shutil
import sys
import textwrap
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect, text
from sqlalchemy.engine import Connection

from store import StateStore, head_revision, schema
from store.schema import VERSION_TABLE, current_revision
from store.settings import project_root
from store.tables import Base

FreshDatabase = Callable[[], AbstractAsyncContextManager[str]]

HEAD = "0002"
"""The newest migration (0002: name claims)."""

EXPECTED_INDEXES = {
    "managed_instances": {
        "ix_managed_instances_name",
        "ix_managed_instances_desired_state",
        "ix_managed_instances_status",
        "uq_managed_instances_live_name",
    },
    "instance_operations": {
        "ix_instance_operations_record_id",
        "ix_instance_operations_instance_id",
        "ix_instance_operations_kind",
        "ix_instance_operations_at",
    },
    "webhook_deliveries": {
        "ix_webhook_deliveries_instance_id",
        "ix_webhook_deliveries_created_at",
        "ix_webhook_deliveries_status_next_attempt_at",
    },
    "name_claims": set(),  # its primary key is the name
}


def _schema(connection: Connection) -> tuple[str | None, dict[str, set[str]]]:
    inspector = inspect(connection)
    indexes = {
        table: {index["name"] for index in inspector.get_indexes(table)}
        for table in inspector.get_table_names()
        if table != VERSION_TABLE
    }
    return current_revision(connection), indexes


async def test_first_open_creates_the_schema_at_head(fresh_database: FreshDatabase) -> None:
    async with fresh_database() as url, StateStore(url) as store:
        async with store.engine.connect() as connection:
            revision, indexes = await connection.run_sync(_schema)
    assert revision == head_revision() == HEAD
    assert set(indexes) == set(EXPECTED_INDEXES)
    for table, expected in EXPECTED_INDEXES.items():
        assert expected <= indexes[table], table


async def test_reopening_an_existing_database_is_a_no_op_upgrade(
    fresh_database: FreshDatabase, caplog: pytest.LogCaptureFixture
) -> None:
    async with fresh_database() as url:
        with caplog.at_level(logging.INFO, logger="store.schema"):
            async with StateStore(url) as store:
                await store.upsert_instance(instance_id="aaaa000000000001", name="keep-me")
        assert any(f"schema upgraded from empty to {HEAD}" in r.message for r in caplog.records)
        caplog.clear()
        with caplog.at_level(logging.INFO, logger="store.schema"):
            store = await StateStore.open(url)
            try:
                kept = await store.get_instance("aaaa000000000001")
                async with store.engine.connect() as connection:
                    revision = await connection.run_sync(current_revision)
            finally:
                await store.close()
        assert not [r for r in caplog.records if "upgraded" in r.message]
        assert kept is not None and kept.name == "keep-me"
        assert revision == head_revision()


def _diff(connection: Connection) -> list[object]:
    context = MigrationContext.configure(
        connection, opts={"compare_type": True, "version_table": VERSION_TABLE}
    )
    return compare_metadata(context, Base.metadata)


async def test_orm_tables_match_the_migrations(fresh_database: FreshDatabase) -> None:
    # tables.py and the migration files must describe the same schema, so that
    # `python -m store.schema revision --autogenerate` only ever sees real changes.
    async with fresh_database() as url, StateStore(url) as store:
        async with store.engine.connect() as connection:
            assert await connection.run_sync(_diff) == []


async def test_store_is_usable_without_explicit_open(fresh_database: FreshDatabase) -> None:
    async with fresh_database() as url:
        store = StateStore(url)  # first call upgrades the schema
        try:
            assert await store.list_instances() == []
            await store.close()
            await store.upsert_instance(instance_id="reuse00000000001", name="after-close")
            assert [i.name for i in await store.list_instances()] == ["after-close"]
        finally:
            await store.close()


async def test_sqlite_runs_in_wal_mode_with_a_busy_timeout(tmp_path: Path) -> None:
    async with StateStore(f"sqlite:///{tmp_path / 'wal.db'}") as store:
        async with store.engine.connect() as connection:
            mode = (await connection.exec_driver_sql("PRAGMA journal_mode")).scalar()
            timeout = (await connection.exec_driver_sql("PRAGMA busy_timeout")).scalar()
            foreign_keys = (await connection.exec_driver_sql("PRAGMA foreign_keys")).scalar()
    assert (mode, foreign_keys) == ("wal", 1)
    assert timeout >= 5000


_FIRST_USE_SCRIPT = textwrap.dedent(
    """
    import asyncio, pathlib, sys, time
    from store import StateStore

    url, name, folder = sys.argv[1], sys.argv[2], pathlib.Path(sys.argv[3])

    async def main() -> None:
        (folder / f"ready-{name}").touch()
        while not (folder / "go").exists():
            time.sleep(0.005)
        async with StateStore(url) as store:
            await store.upsert_instance(instance_id=name, name=name)

    asyncio.run(main())
    """
)


async def test_concurrent_first_use_by_two_processes(
    fresh_database: FreshDatabase, tmp_path: Path
) -> None:
    script = tmp_path / "first_use.py"
    script.write_text(_FIRST_USE_SCRIPT)
    names = ["proc0000000000a1", "proc0000000000b2"]
    async with fresh_database() as url:
        processes = [
            await asyncio.create_subprocess_exec(
                sys.executable,
                str(script),
                url,
                name,
                str(tmp_path),
                cwd=project_root(),
                stderr=asyncio.subprocess.PIPE,
            )
            for name in names
        ]
        for _ in range(3000):  # both imported and waiting: release them together
            if all((tmp_path / f"ready-{name}").exists() for name in names):
                break
            await asyncio.sleep(0.01)
        (tmp_path / "go").touch()
        results = [await asyncio.wait_for(p.communicate(), timeout=60) for p in processes]
        for process, (_, stderr) in zip(processes, results, strict=True):
            assert process.returncode == 0, stderr.decode()
        async with StateStore(url) as store:
            stored = sorted(i.instance_id for i in await store.list_instances())
            async with store.engine.connect() as connection:
                rows = (await connection.execute(text(f"SELECT * FROM {VERSION_TABLE}"))).all()
    assert stored == names
    assert [tuple(row) for row in rows] == [(HEAD,)]


NEXT = f"{int(HEAD) + 1:04d}"
_NEXT_MIGRATION = f'''"""Add a note to instances.

Revision ID: {NEXT}
Revises: {HEAD}
"""

import sqlalchemy as sa
from alembic import op

revision = "{NEXT}"
down_revision = "{HEAD}"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Apply this change."""
    with op.batch_alter_table("managed_instances") as batch_op:
        batch_op.add_column(sa.Column("note", sa.Text(), nullable=True))


def downgrade() -> None:
    """Revert this change."""
    with op.batch_alter_table("managed_instances") as batch_op:
        batch_op.drop_column("note")
'''


def _columns(connection: Connection) -> set[str]:
    return {column["name"] for column in inspect(connection).get_columns("managed_instances")}


async def test_a_new_migration_file_upgrades_an_existing_database(
    fresh_database: FreshDatabase, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with fresh_database() as url:
        async with StateStore(url) as store:
            await store.upsert_instance(instance_id="old0000000000001", name="survivor")

        migrations = tmp_path / "migrations"
        shutil.copytree(
            schema.MIGRATIONS_DIR, migrations, ignore=shutil.ignore_patterns("__pycache__")
        )
        (migrations / "versions" / f"{NEXT}_add_note.py").write_text(_NEXT_MIGRATION)
        monkeypatch.setattr(schema, "MIGRATIONS_DIR", migrations)

        async with StateStore(url) as store:
            kept = await store.get_instance("old0000000000001")
            async with store.engine.connect() as connection:
                revision = await connection.run_sync(current_revision)
                columns = await connection.run_sync(_columns)
    assert revision == NEXT
    assert "note" in columns
    assert kept is not None and kept.name == "survivor"
