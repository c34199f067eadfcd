"""Test-session environment: Prefect and the state store never touch a real home or server."""

from __future__ import annotations

import json
import os
import tempfile

import pytest

# Before anything imports prefect: a private PREFECT_HOME, no telemetry, no outside API.
_SESSION_DIR = tempfile.mkdtemp(prefix="novita-tests-")
os.environ["PREFECT_HOME"] = os.path.join(_SESSION_DIR, "prefect-home")
os.environ.pop("PREFECT_API_URL", None)
os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
os.environ.setdefault("DO_NOT_TRACK", "1")
os.environ.setdefault("PREFECT_LOGGING_TO_API_BATCH_INTERVAL", "0.3")
# Served deployments (subprocesses inherit this) pick a triggered run up within a second,
# not ten: the tests that run flows through the prefect CLI wait on that poll.
os.environ.setdefault("PREFECT_RUNNER_POLL_FREQUENCY", "1")
# The server streams flow-run logs out, so `prefect deployment run ... --watch` prints them (as
# the demo's server does): tests/flows/test_operator_deployments.py reads the answer there.
os.environ.setdefault("PREFECT_SERVER_LOGS_STREAM_OUT_ENABLED", "true")
os.environ.setdefault("PREFECT_SERVER_LOGS_STREAM_PUBLISHING_ENABLED", "true")
os.environ["NOVITA_STATE_URL"] = "sqlite+aiosqlite:///" + os.path.join(_SESSION_DIR, "state.db")
for _name in ("NOVITA_API_KEY", "NOVITA_API_BASE_URL", "WEBHOOK_SECRET"):
    os.environ.pop(_name, None)


pytest_plugins = ["tests.live_servers"]
"""One Prefect test server, simulator and receiver fixture set for the whole session."""

STARTS_A_SERVER = frozenset(
    {
        "prefect_server",  # tests/flows: a Prefect test server
        "flow_sim",
        "flow_env",
        "sim_server",  # tests/simulator
        "contract_sim",  # tests/contract
    }
)
"""Fixtures that start the simulator or a Prefect server: their tests are `integration`."""


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark every test that starts the simulator or a Prefect server as `integration`.

    Such a test uses one of `STARTS_A_SERVER` (directly or through another fixture), or
    its module says so with `pytestmark = pytest.mark.integration` (tests that start one in
    a subprocess). `make test-fast` runs the rest: `pytest -m "not integration"`.
    """
    for item in items:
        if STARTS_A_SERVER & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.integration)


def pytest_terminal_summary(
    terminalreporter: pytest.TerminalReporter, config: pytest.Config
) -> None:
    """Show the fault suite's figures at the end of every run that produced some.

    Each fault test writes `figures.json` under its tmp_path (`tests/faults/conftest.py`);
    they are read back from the session's base temp folder, so the figures of tests that ran
    in pytest-xdist workers (`make test`) are shown too. Here, not in tests/faults: the
    controller of an xdist run loads only this conftest.
    """
    base = config._tmp_path_factory.getbasetemp()  # type: ignore[attr-defined]
    sets = [
        (path, title, values)
        for path in sorted(base.rglob("figures.json"))
        for title, values in json.loads(path.read_text()).items()
    ]
    if not sets:
        return
    terminalreporter.section("fault suite figures")
    for path, title, values in sets:
        lines = "\n".join(
            f"  {key}: {json.dumps(value, sort_keys=True, default=str)}"
            for key, value in values.items()
        )
        terminalreporter.write_line(f"[{title}]  ({path.parent.name})\n{lines}")
