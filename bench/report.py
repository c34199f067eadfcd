"""Tables, verdicts and JSON files: how every benchmark reports.

A benchmark prints one aligned table (stdout), then its checks: `PASS` / `FAIL` for what must
hold, `AIM met` / `AIM missed` and `TARGET met` / `TARGET missed` for what the issue aims
at, each with the figure and the limit. The same content goes to
`bench/results/<name>-<UTC time>.json` and `bench/results/<name>-latest.json`.
"""

from __future__ import annotations

import datetime
import json
import statistics
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

RESULTS_DIR = Path(__file__).resolve().parent / "results"


def fmt(value: Any, digits: int = 2) -> str:
    """A table cell: floats rounded, None as "-".

    Example:
        >>> fmt(1.2345), fmt(None), fmt(7), fmt(0.0004)
        ('1.23', '-', '7', '0.00')

    """
    if value is None:
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return f"{value:.{digits}f}"
    return str(value)


def table(columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    """A Markdown table with aligned columns (pasteable into BENCHMARKS.md).

    Example:
        >>> print(table(["path", "s"], [["bare", 3.71]]))
        | path | s    |
        |------|------|
        | bare | 3.71 |

    """
    cells = [[fmt(c) for c in row] for row in rows]
    widths = [max(len(col), *(len(r[i]) for r in cells)) for i, col in enumerate(columns)]
    lines = ["| " + " | ".join(c.ljust(w) for c, w in zip(columns, widths, strict=True)) + " |"]
    lines.append("|" + "|".join("-" * (w + 2) for w in widths) + "|")
    for row in cells:
        lines.append("| " + " | ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)) + " |")
    return "\n".join(lines)


def min_median(values: Sequence[float]) -> tuple[float | None, float | None]:
    """The smallest and the median value, or (None, None) when there is none.

    Example:
        >>> min_median([4.0, 3.0, 5.0, 10.0])
        (3.0, 4.5)

    """
    if not values:
        return None, None
    return min(values), statistics.median(values)


@dataclass
class Check:
    """One line under a table: something that must hold, an aim, or a target."""

    kind: str
    """`must`, `aim` or `target`."""
    label: str
    ok: bool
    detail: str

    def line(self) -> str:
        """`PASS ...` / `FAIL ...` / `AIM met ...` / `TARGET missed ...`.

        Example:
            >>> Check("must", "0 failed", True, "0").line()
            'PASS  0 failed: 0'
            >>> Check("aim", "under 70 s", False, "74.1 s").line()
            'AIM missed  under 70 s: 74.1 s'

        """
        if self.kind == "must":
            word = "PASS" if self.ok else "FAIL"
        else:
            word = f"{self.kind.upper()} {'met' if self.ok else 'missed'}"
        return f"{word}  {self.label}: {self.detail}"


@dataclass
class Report:
    """Everything one benchmark found: its table, checks, notes and raw measurements."""

    name: str
    title: str
    columns: list[str]
    rows: list[list[Any]] = field(default_factory=list)
    checks: list[Check] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    settings: dict[str, Any] = field(default_factory=dict)
    raw: dict[str, Any] = field(default_factory=dict)
    seconds: float = 0.0

    def check(self, kind: str, label: str, ok: bool, detail: str) -> None:
        """Add one check line."""
        self.checks.append(Check(kind, label, ok, detail))

    def text(self) -> str:
        """Title, table, notes and checks as printed."""
        parts = [f"## {self.title}", "", table(self.columns, self.rows), ""]
        parts += [f"- {note}" for note in self.notes]
        if self.notes:
            parts.append("")
        parts += [c.line() for c in self.checks]
        return "\n".join(parts)

    def failed_musts(self) -> list[Check]:
        """The checks that must hold and do not."""
        return [c for c in self.checks if c.kind == "must" and not c.ok]

    def to_json(self, machine: dict[str, Any]) -> dict[str, Any]:
        """What the JSON file holds."""
        return {
            "name": self.name,
            "title": self.title,
            "at": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
            "seconds": round(self.seconds, 1),
            "machine": machine,
            "settings": self.settings,
            "columns": self.columns,
            "rows": self.rows,
            "checks": [c.__dict__ for c in self.checks],
            "notes": self.notes,
            "raw": self.raw,
        }


def write_json(report: Report, machine: dict[str, Any], folder: Path = RESULTS_DIR) -> Path:
    """Write `<name>-<UTC time>.json` and `<name>-latest.json`; returns the first."""
    folder.mkdir(parents=True, exist_ok=True)
    stamp = datetime.datetime.now(datetime.UTC).strftime("%Y%m%dT%H%M%SZ")
    payload = json.dumps(report.to_json(machine), indent=1, default=str)
    path = folder / f"{report.name}-{stamp}.json"
    path.write_text(payload)
    (folder / f"{report.name}-latest.json").write_text(payload)
    return path
