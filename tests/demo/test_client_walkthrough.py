"""The README's client walkthrough runs end to end against the simulator and exits 0."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.integration  # starts the simulator or a Prefect server

ROOT = Path(__file__).resolve().parents[2]


def test_walkthrough_prints_every_status_and_exits_zero() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "deployments.client_walkthrough"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    out = done.stdout
    statuses = [line.split(": ")[-1] for line in out.splitlines() if line.startswith("  ")]
    assert statuses == [
        "toCreate",
        "creating",
        "pulling",
        "running",
        "toStop",
        "stopping",
        "exited",
        "toRemove",
        "removing",
        "removed",
    ]
    assert "walkthrough complete" in out
