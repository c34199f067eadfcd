"""Imports flow one way (DESIGN.md section 2): checked on the source, not by convention."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PROJECT_PACKAGES = {"clients", "blocks", "store", "tasks", "flows", "deployments", "simulator"}

# package -> project packages it may import (besides itself)
ALLOWED = {
    "clients": set(),
    "store": set(),
    "simulator": set(),
    "blocks": {"clients"},
    "tasks": {"clients", "blocks", "store"},
    "flows": {"clients", "blocks", "store", "tasks"},
}
NO_PREFECT = {"clients", "store", "simulator"}


def imported_top_levels(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module.split(".")[0])
    return names


def sources(package: str) -> list[Path]:
    return sorted((ROOT / package).rglob("*.py"))


@pytest.mark.parametrize("package", sorted(ALLOWED))
def test_package_imports_only_lower_layers(package: str) -> None:
    assert sources(package), f"{package}/ has no Python files"
    offenders = {
        str(path.relative_to(ROOT)): sorted(bad)
        for path in sources(package)
        if (bad := (imported_top_levels(path) & PROJECT_PACKAGES) - ALLOWED[package] - {package})
    }
    assert offenders == {}


@pytest.mark.parametrize("package", sorted(NO_PREFECT))
def test_no_prefect_import(package: str) -> None:
    offenders = [
        str(path.relative_to(ROOT))
        for path in sources(package)
        if "prefect" in imported_top_levels(path)
    ]
    assert offenders == []
