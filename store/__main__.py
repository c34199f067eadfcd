"""Command line of the store's schema: ``python -m store {upgrade,current,revision}``.

How to change the schema (never edit an applied migration):

1. Change ``store/tables.py``.
2. ``.venv/bin/python -m store revision --autogenerate -m "Add foo to instances"
   --url sqlite:////tmp/scratch.db`` writes ``store/migrations/versions/000N_add_foo...py``
   (the scratch database is brought to the current head first, then compared with
   ``tables.py``). Review it: SQLite changes run in batch mode, data moves are yours to write.
3. Run the store tests: they upgrade fresh SQLite and PostgreSQL databases and check that
   ``tables.py`` and the migrations describe the same schema.

Every store upgrades itself to head on first use; ``upgrade`` does it ahead of time.
"""

from __future__ import annotations

import argparse
import asyncio
import logging

from alembic import command
from alembic.config import Config
from alembic.script import ScriptDirectory
from sqlalchemy.engine import URL, Connection

from store.engine import create_engine, write_engine
from store.schema import alembic_config, current_revision, head_revision, upgrade_to_head
from store.settings import describe_url, resolve_state_url

logger = logging.getLogger("store")


def next_revision_id(config: Config) -> str:
    """Return the next sequential revision id ("0003" after "0002").

    Example:
        >>> from store.schema import alembic_config
        >>> next_revision_id(alembic_config())
        '0003'

    """
    head = ScriptDirectory.from_config(config).get_current_head()
    return f"{int(head) + 1:04d}" if head and head.isdigit() else "0001"


async def run(url: URL, action: str, message: str = "", autogenerate: bool = False) -> None:
    """Run ``action`` (upgrade, current or revision) against the database at ``url``.

    Example:
        >>> import asyncio
        >>> asyncio.run(run(resolve_state_url(), "current"))  # doctest: +SKIP

    """
    message = message.strip().rstrip(".") or "Schema change"  # the template adds the period
    if action == "revision" and not autogenerate:
        config = alembic_config(url)
        command.revision(config, message=message, rev_id=next_revision_id(config))
        return
    engine = create_engine(url)
    try:
        if action in ("upgrade", "revision"):
            await upgrade_to_head(engine)
        if action == "upgrade":
            return

        def act(connection: Connection) -> None:
            if action == "current":
                revision = current_revision(connection) or "empty"
                logger.info("current revision: %s (head: %s)", revision, head_revision())
                return
            config = alembic_config(url)
            config.attributes["connection"] = connection
            command.revision(
                config, message=message, autogenerate=True, rev_id=next_revision_id(config)
            )

        async with write_engine(engine).begin() as connection:
            await connection.run_sync(act)
    finally:
        await engine.dispose()


def main(argv: list[str] | None = None) -> None:
    """Parse the command line and run it.

    Example:
        >>> main(["current", "--url", "sqlite:////tmp/example-state.db"])  # doctest: +SKIP
        INFO store: current revision: 0001 (head: 0001)

    """
    parser = argparse.ArgumentParser(
        prog="python -m store",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("action", choices=["upgrade", "current", "revision"])
    parser.add_argument("-m", "--message", default="", help="revision: what the change does")
    parser.add_argument("--autogenerate", action="store_true", help="revision: diff tables.py")
    parser.add_argument("--url", default=None, help="SQLAlchemy URL (default: NOVITA_STATE_URL)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    url = resolve_state_url(args.url)
    logger.info("database: %s", describe_url(url))
    asyncio.run(run(url, args.action, args.message, args.autogenerate))


if __name__ == "__main__":
    main()
