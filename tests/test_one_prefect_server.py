"""The session's real parts are registered once: no conftest defines or imports them again.

A second registration of `prefect_server` starts a second Prefect test server, while
Prefect's process-wide events worker stays bound to the first; the flows tests that read
events or task runs back then find nothing (it failed CI once: tests/faults re-imported the
fixtures from tests/flows/conftest.py).
"""

from __future__ import annotations

import ast
from pathlib import Path

TESTS = Path(__file__).resolve().parent
SHARED_FIXTURES = {"prefect_server", "flow_sim", "flow_env"}
"""Session fixtures bound to the one Prefect test server (folders may define their own `sim`)."""


def imported_or_defined_fixtures(conftest: Path) -> set[str]:
    tree = ast.parse(conftest.read_text())
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            names |= {alias.asname or alias.name for alias in node.names}
        elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            names.add(node.name)
    return names & SHARED_FIXTURES


def test_only_live_servers_registers_the_shared_fixtures() -> None:
    offenders = {
        str(conftest.relative_to(TESTS)): sorted(imported_or_defined_fixtures(conftest))
        for conftest in TESTS.rglob("conftest.py")
    }
    assert {path: names for path, names in offenders.items() if names} == {}


def test_the_prefect_test_harness_is_started_in_one_place() -> None:
    starters = sorted(
        str(path.relative_to(TESTS))
        for path in TESTS.rglob("*.py")
        if "prefect_test_harness(" in path.read_text() and path.name != Path(__file__).name
    )
    assert starters == ["live_servers.py"]
