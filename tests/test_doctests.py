"""Every module's docstring examples are collected and run, in every package of the project.

A module is found, not listed, so a new module is run too; each module whose source holds a
`>>>` example must actually run at least one. Examples that need a server or a network are
written as fenced code blocks (read, not run), or marked `# doctest: +SKIP`.
"""

from __future__ import annotations

import doctest
import importlib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("clients", "blocks", "store", "tasks", "flows", "deployments", "simulator")
SKIP = {"store.migrations.env"}
"""Alembic's env module runs migrations when imported: never imported outside alembic."""


def module_names() -> list[str]:
    names = []
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            parts = list(path.relative_to(ROOT).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts = parts[:-1]
            if "versions" in parts:  # alembic revisions: data, not code with examples
                continue
            name = ".".join(parts)
            if name not in SKIP:
                names.append(name)
    return names


MODULES = module_names()


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples_run(name: str) -> None:
    module = importlib.import_module(name)
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS)
    assert result.failed == 0
    source = Path(module.__file__ or "").read_text()
    if ">>>" in source:
        assert result.attempted > 0, f"{name} has examples that doctest does not collect"


def test_every_package_is_searched() -> None:
    found = {name.split(".")[0] for name in MODULES}
    assert found == set(PACKAGES)
    assert {"flows.provisioning.rules.region_order", "tasks.wait_for_status"} <= set(MODULES)
