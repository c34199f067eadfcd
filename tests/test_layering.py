"""The house rules of DESIGN.md section 2, checked on the source, not by convention.

- Imports flow one way: clients <- blocks <- tasks <- flows <- deployments (store usable from
  tasks and flows; store may use the clients' data types for the status vocabulary).
- clients, store and simulator never import Prefect; no module of flows/ uses httpx.
- `rules` modules (and the few pure helpers they use) decide in memory: no prefect, httpx,
  SQLAlchemy, store engine, tasks or blocks, directly or through another project module.
- flows/*.py are flow entrypoints only, without `from __future__ import annotations` (a
  served flow's parameter types must resolve in its own process); no module of flows/ or
  tasks/ is over 350 lines.
- One journal: only flows/common/journal.py writes statuses, wishes or history to the store.
- One status vocabulary: only store/statuses.py spells out a set of statuses.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PROJECT_PACKAGES = {"clients", "blocks", "store", "tasks", "flows", "deployments", "simulator"}

# package -> project packages it may import (besides itself)
ALLOWED = {
    "clients": set(),
    "store": {"clients"},  # the status vocabulary names Novita's statuses
    "simulator": set(),
    "blocks": {"clients"},
    "tasks": {"clients", "blocks", "store"},
    "flows": {"clients", "blocks", "store", "tasks"},
}
NO_PREFECT = {"clients", "store", "simulator"}

PURE_HELPERS = {
    "flows.common.flow_activity",
    "flows.common.dashboard_format",
    "flows.sweeps.outcomes",
}
"""Modules outside a `rules` package that rules may use: pure values and formatting."""

PURE_DATA = {
    "clients.novita.instances",
    "clients.novita.catalog",
    "clients.novita.jobs",
    "clients.novita.templates",
    "clients.endpoint_models",
    "store.models",
    "store.statuses",
    "store.clock",
}
"""Data types a rule may read: models, enums and the status vocabulary, nothing that does I/O."""

IMPURE_LIBRARIES = {"prefect", "httpx", "sqlalchemy", "aiosqlite", "asyncpg", "anyio"}

STORE_WRITES = {
    "set_status",
    "transition_status",
    "upsert_instance",
    "replace_instance_id",
    "record_operation",
    "set_desired_state",
    "mark_used",
    "record_migration_attempt",
    "reset_migration_attempts",
    "apply_step",
}
MAX_LINES = 350


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def imported_modules(path: Path) -> set[str]:
    """Every absolute module a file imports (`from a.b import c` counts `a.b` and `a.b.c`)."""
    tree = ast.parse(path.read_text(), filename=str(path))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module)
            names |= {f"{node.module}.{alias.name}" for alias in node.names}
    return names


def imported_top_levels(path: Path) -> set[str]:
    return {name.split(".")[0] for name in imported_modules(path)}


def sources(package: str) -> list[Path]:
    return sorted((ROOT / package).rglob("*.py"))


def is_rules(path: Path) -> bool:
    relative = path.relative_to(ROOT)
    return relative.stem == "rules" or "rules" in relative.parts[:-1]


def pure_modules() -> dict[str, Path]:
    found = {module_name(p): p for p in sources("flows") if is_rules(p)}
    found |= {name: ROOT / (name.replace(".", "/") + ".py") for name in PURE_HELPERS}
    return found


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


def test_no_flow_module_calls_httpx() -> None:
    offenders = [
        str(path.relative_to(ROOT))
        for path in sources("flows")
        if "httpx" in imported_top_levels(path)
    ]
    assert offenders == []


def test_every_capability_has_pure_rules() -> None:
    rules = {name for name in pure_modules() if ".rules" in name}
    for capability in (
        "provisioning",
        "instances",
        "sweeps.auto_stop",
        "sweeps.migration",
        "fleet",
    ):
        assert any(name.startswith(f"flows.{capability}.rules") for name in rules), capability


def rule_offences(name: str, path: Path, pure: set[str]) -> list[str]:
    offences = []
    for imported in imported_modules(path):
        top = imported.split(".")[0]
        if top in IMPURE_LIBRARIES:
            offences.append(imported)
        elif top in {"tasks", "blocks", "deployments", "simulator"}:
            offences.append(imported)
        elif top == "flows" and not any(
            imported == p or imported.startswith(p + ".") for p in pure
        ):
            # `from flows.x.rules import y` names `flows.x.rules.y`: the module is pure
            if not any(imported.rsplit(".", 1)[0] == p for p in pure):
                offences.append(imported)
        elif top in {"clients", "store"} and not any(
            imported == d or imported.startswith(d + ".") for d in PURE_DATA
        ):
            offences.append(imported)
    return sorted(offences)


def test_rules_decide_without_io() -> None:
    modules = pure_modules()
    pure = set(modules)
    offenders = {
        name: bad for name, path in modules.items() if (bad := rule_offences(name, path, pure))
    }
    assert offenders == {}


def test_rule_check_catches_an_impure_import(tmp_path: Path) -> None:
    bad = tmp_path / "rules.py"
    bad.write_text(
        "from prefect import flow\nimport httpx\nfrom store.engine import create_engine\n"
        "from store import StateStore\nfrom tasks.novita_instances import list_instances\n"
    )
    assert rule_offences("x.rules", bad, set()) == [
        "httpx",
        "prefect",
        "prefect.flow",
        "store",
        "store.StateStore",
        "store.engine",
        "store.engine.create_engine",
        "tasks.novita_instances",
        "tasks.novita_instances.list_instances",
    ]


def defines_a_flow(path: Path) -> bool:
    tree = ast.parse(path.read_text())
    for node in tree.body:
        if isinstance(node, ast.AsyncFunctionDef | ast.FunctionDef):
            for decorator in node.decorator_list:
                target = decorator.func if isinstance(decorator, ast.Call) else decorator
                if isinstance(target, ast.Name) and target.id == "flow":
                    return True
    return False


def test_top_level_of_flows_holds_only_flow_entrypoints() -> None:
    modules = sorted(p for p in (ROOT / "flows").glob("*.py") if p.name != "__init__.py")
    assert [p.name for p in modules if not defines_a_flow(p)] == []
    with_future = [p.name for p in modules if "__future__" in imported_modules(p)]
    assert with_future == []


@pytest.mark.parametrize("package", ["flows", "tasks"])
def test_no_module_over_350_lines(package: str) -> None:
    long = {
        str(p.relative_to(ROOT)): n
        for p in sources(package)
        if (n := len(p.read_text().splitlines())) > MAX_LINES
    }
    assert long == {}


def store_writes(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    return {
        node.func.attr
        for node in ast.walk(tree)
        if isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and node.func.attr in STORE_WRITES
    }


def test_only_the_journal_writes_instance_state() -> None:
    journal = ROOT / "flows" / "common" / "journal.py"
    offenders = {
        str(p.relative_to(ROOT)): sorted(calls)
        for p in sources("flows")
        if p != journal and (calls := store_writes(p))
    }
    assert offenders == {}
    assert "apply_step" in store_writes(journal)


def spelled_out_status_sets(path: Path) -> list[int]:
    """Lines where a frozenset of two or more statuses is written out member by member."""
    tree = ast.parse(path.read_text())
    lines = []
    for node in ast.walk(tree):
        if not (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Name)
            and node.func.id == "frozenset"
        ):
            continue
        members = [
            n
            for n in ast.walk(node)
            if isinstance(n, ast.Attribute)
            and isinstance(n.value, ast.Name)
            and n.value.id in {"LifecycleStatus", "InstanceStatus"}
        ]
        if len(members) >= 2:
            lines.append(node.lineno)
    return lines


def test_one_status_vocabulary() -> None:
    vocabulary = ROOT / "store" / "statuses.py"
    offenders = {
        str(p.relative_to(ROOT)): lines
        for package in ("flows", "tasks", "store")
        for p in sources(package)
        if p != vocabulary and (lines := spelled_out_status_sets(p))
    }
    assert offenders == {}
    assert spelled_out_status_sets(vocabulary)
