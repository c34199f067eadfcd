"""The README's demo: simulator + local Prefect server + served deployments, end to end.

It also opens the Prefect UI in a real headless browser (Debian's chromium) and checks the
`novita-fleet` table rendered, saving the screenshot the README names.
"""

from __future__ import annotations

import json
import socket
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.integration  # starts the simulator or a Prefect server

ROOT = Path(__file__).resolve().parents[2]
SCREENSHOT = ROOT / "screenshots" / "novita-fleet.png"  # the path the README names


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_demo_runs_end_to_end_and_the_ui_renders_the_fleet_table() -> None:
    SCREENSHOT.unlink(missing_ok=True)
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "deployments.demo",
            "--port",
            str(free_port()),
            "--screenshot",
            str(SCREENSHOT),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    out = done.stdout
    for status in ("toCreate", "pulling", "running", "exited", "removed"):
        assert f": {status}" in out  # the client walk prints each status
    assert "auto-stop-sweep: stopped 1" in out
    assert "migration-sweep: migrated 1" in out
    assert "Prefect UI: http://127.0.0.1:" in out

    assert SCREENSHOT.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    rows = json.loads(SCREENSHOT.with_suffix(".json").read_text())
    cells = {cell for row in rows for cell in row}
    assert {"demo-idle", "demo-spot"} <= cells  # the table rendered, with both machines
    idle = next(row for row in rows if "demo-idle" in row)
    assert "stopped" in idle
