"""Where the store lives: URL resolution, driver normalisation, data folder."""

from __future__ import annotations

from pathlib import Path

import pytest

from store.settings import describe_url, project_root, resolve_state_url


def test_default_url_is_a_sqlite_file_in_the_project_data_folder(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("NOVITA_STATE_URL", raising=False)
    monkeypatch.delenv("NOVITA_DATA_DIR", raising=False)
    url = resolve_state_url()
    assert url.drivername == "sqlite+aiosqlite"
    assert Path(url.database) == project_root() / "data" / "novita-state.db"
    assert (project_root() / "store" / "__init__.py").is_file()
    assert (project_root() / "data").is_dir()


def test_data_dir_override_is_created(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("NOVITA_STATE_URL", raising=False)
    monkeypatch.setenv("NOVITA_DATA_DIR", str(tmp_path / "nested" / "data"))
    url = resolve_state_url()
    assert Path(url.database) == tmp_path / "nested" / "data" / "novita-state.db"
    assert (tmp_path / "nested" / "data").is_dir()


def test_state_url_from_environment_wins(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("NOVITA_DATA_DIR", str(tmp_path / "unused"))
    monkeypatch.setenv("NOVITA_STATE_URL", "postgresql+asyncpg://app:pw@db.internal:5432/state")
    url = resolve_state_url()
    assert (url.drivername, url.host, url.database) == (
        "postgresql+asyncpg",
        "db.internal",
        "state",
    )
    # An explicit argument wins over the environment.
    assert resolve_state_url(f"sqlite:///{tmp_path}/x.db").drivername == "sqlite+aiosqlite"


@pytest.mark.parametrize(
    ("given", "driver"),
    [
        ("sqlite:///relative.db", "sqlite+aiosqlite"),
        ("postgres://u@h/db", "postgresql+asyncpg"),
        ("postgresql://u@h/db", "postgresql+asyncpg"),
        ("postgresql+psycopg2://u@h/db", "postgresql+asyncpg"),
        ("postgresql+asyncpg://u@h/db", "postgresql+asyncpg"),
    ],
)
def test_sync_driver_names_become_async(given: str, driver: str, tmp_path: Path) -> None:
    if given.startswith("sqlite"):
        given = f"sqlite:///{tmp_path / 'sub' / 'relative.db'}"
    assert resolve_state_url(given).drivername == driver


def test_sqlite_folder_is_created(tmp_path: Path) -> None:
    resolve_state_url(f"sqlite+aiosqlite:///{tmp_path / 'a' / 'b' / 'state.db'}")
    assert (tmp_path / "a" / "b").is_dir()


def test_password_is_masked_in_descriptions() -> None:
    text = describe_url(resolve_state_url("postgresql://u:s3cr3t-pw@db/state"))
    assert "s3cr3t-pw" not in text
    assert text == "postgresql+asyncpg://u:***@db/state"
