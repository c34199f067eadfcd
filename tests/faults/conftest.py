"""Fault-suite fixtures: figures (server, simulator, receiver: `tests/live_servers.py`).

Every test here is marked `faults` and `integration`: `pytest -m faults` runs the suite alone,
`make test` runs it with everything else. Each test prints its figures (counts, bounds) and
writes them to `figures.json` under its tmp_path before asserting them, so a failure shows
the numbers and a passing run can be read with `-s`.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

Figures = Callable[[str, dict[str, Any]], Path]


@pytest.fixture
def figures(tmp_path: Path) -> Iterator[Figures]:
    """Print a test's figures under a title and write them to `<tmp_path>/figures.json`.

    They are also shown at the end of the run (`pytest_terminal_summary` in
    tests/conftest.py), with or without `-s`, passed or failed.
    """
    written: dict[str, dict[str, Any]] = {}
    path = tmp_path / "figures.json"

    def record(title: str, values: dict[str, Any]) -> Path:
        written[title] = values
        path.write_text(json.dumps(written, indent=2, sort_keys=True, default=str))
        print(f"\n[fault figures] {title}\n{_render(values)}")
        return path

    yield record


def _render(values: dict[str, Any]) -> str:
    return "\n".join(
        f"  {key}: {json.dumps(value, sort_keys=True, default=str)}"
        for key, value in values.items()
    )
