"""Where the state lives: resolve the SQLAlchemy URL of the store.

The URL comes from, in order: the ``url`` argument, the ``NOVITA_STATE_URL`` environment
variable, else a SQLite file ``novita-state.db`` in the project's data folder. The data folder
is ``<project root>/data`` unless ``NOVITA_DATA_DIR`` says otherwise; the project root is found
from this package's location, so the default does not depend on the working directory.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

from sqlalchemy.engine import URL, make_url

logger = logging.getLogger(__name__)

STATE_URL_ENV = "NOVITA_STATE_URL"
DATA_DIR_ENV = "NOVITA_DATA_DIR"
DEFAULT_DB_FILENAME = "novita-state.db"

# Sync driver names people naturally type, mapped to the async driver the store runs on.
_ASYNC_DRIVERS = {
    "sqlite": "sqlite+aiosqlite",
    "sqlite+pysqlite": "sqlite+aiosqlite",
    "postgres": "postgresql+asyncpg",
    "postgresql": "postgresql+asyncpg",
    "postgresql+psycopg2": "postgresql+asyncpg",
    "postgresql+psycopg": "postgresql+asyncpg",
}


def project_root() -> Path:
    """Return the project root: the folder that holds the ``store`` package.

    Example:
        >>> (project_root() / "store").is_dir()
        True

    """
    return Path(__file__).resolve().parent.parent


def data_dir() -> Path:
    """Return the data folder (``NOVITA_DATA_DIR`` or ``<project root>/data``), creating it.

    Example:
        >>> data_dir().is_dir()
        True

    """
    configured = os.environ.get(DATA_DIR_ENV, "").strip()
    folder = Path(configured).expanduser() if configured else project_root() / "data"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def default_state_url() -> str:
    """Return the URL of the default SQLite file in the data folder.

    Example:
        >>> default_state_url().endswith("novita-state.db")
        True

    """
    return str(URL.create("sqlite+aiosqlite", database=str(data_dir() / DEFAULT_DB_FILENAME)))


def resolve_state_url(url: str | URL | None = None) -> URL:
    """Resolve the store URL and make sure it names an async driver.

    ``sqlite://`` becomes ``sqlite+aiosqlite://`` and ``postgres(ql)://`` becomes
    ``postgresql+asyncpg://``. For a SQLite file, its folder is created.

    Args:
        url: An explicit URL; when None, ``NOVITA_STATE_URL`` or the default SQLite file.

    Returns:
        The SQLAlchemy URL to build the async engine from.

    Example:
        >>> resolve_state_url("postgres://u@db:5432/state").drivername
        'postgresql+asyncpg'

    """
    if url is None:
        url = os.environ.get(STATE_URL_ENV, "").strip() or default_state_url()
    parsed = make_url(url)
    drivername = _ASYNC_DRIVERS.get(parsed.drivername, parsed.drivername)
    parsed = parsed.set(drivername=drivername)
    if parsed.get_backend_name() == "sqlite" and parsed.database not in (None, "", ":memory:"):
        Path(parsed.database).expanduser().parent.mkdir(parents=True, exist_ok=True)
    return parsed


def describe_url(url: URL) -> str:
    """Render a URL for logs and messages, with any password masked.

    Example:
        >>> describe_url(resolve_state_url("postgresql://u:pw@db/state"))
        'postgresql+asyncpg://u:***@db/state'

    """
    return url.render_as_string(hide_password=True)
