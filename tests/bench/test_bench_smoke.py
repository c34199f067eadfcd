"""Smoke runs of every benchmark in `--quick` mode, so `make bench` cannot rot.

One simulator process and one SQLite-backed Prefect server for the module (as `python -m
bench all` shares them); each benchmark then runs with tiny sizes and one run, and must
report every row with nothing that must hold failing. The PostgreSQL + worker setups are
left out (`--quick` skips them; `tests/scale` covers scale-out). About 90 s on two cores.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from bench import fleet, overhead, seed_style, sweep
from bench.common import SPEED, Options
from bench.infra import Infra, machine_info
from bench.report import Report, write_json

pytestmark = pytest.mark.integration

QUICK = Options(quick=True)


@pytest.fixture(scope="module")
def infra(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Infra]:
    shared = Infra(tmp_path_factory.mktemp("bench"), SPEED, settle=False)
    try:
        yield shared
    finally:
        shared.close()


def _holds(report: Report, tmp_path: Path, rows: int) -> dict:
    text = report.text()
    assert len(report.rows) == rows, text
    assert not report.failed_musts(), text
    assert all(row[1] is not None for row in report.rows), text
    saved = json.loads(write_json(report, machine_info(), tmp_path).read_text())
    assert saved["rows"] == json.loads(json.dumps(report.rows, default=str))
    assert (tmp_path / f"{report.name}-latest.json").is_file()
    return saved


def test_overhead_quick(infra: Infra, tmp_path: Path) -> None:
    report = overhead.run(QUICK, infra)
    _holds(report, tmp_path, rows=3)
    bare, python, served = (row[2] for row in report.rows)
    assert python > bare and served > bare
    same_calls = [c for c in report.checks if "same Novita calls" in c.label]
    assert same_calls and same_calls[0].ok  # every path makes the same calls (polls aside)


def test_fleet_quick(infra: Infra, tmp_path: Path) -> None:
    report = fleet.run(QUICK, infra)
    saved = _holds(report, tmp_path, rows=4)
    assert [row[2] for row in saved["rows"]] == ["yes", "no", "yes", "no"]
    assert any(c["kind"] == "target" for c in saved["checks"])


def test_seed_style_quick(infra: Infra, tmp_path: Path) -> None:
    report = seed_style.run(QUICK, infra)
    _holds(report, tmp_path, rows=2)


def test_sweep_quick(infra: Infra, tmp_path: Path) -> None:
    report = sweep.run(QUICK, infra)
    saved = _holds(report, tmp_path, rows=4)
    assert [row[2] for row in saved["rows"]] == [2, 2, 2, 2]  # list calls = ceil(200 / 100)
