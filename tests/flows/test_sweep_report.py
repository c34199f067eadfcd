"""What a sweep logs about the instances it leaves alone: each one, or a count per reason."""

from __future__ import annotations

import logging

import pytest

from flows.sweeps.outcomes import SkippedInstance
from flows.sweeps.report import MAX_LOGGED_SKIPS, log_skipped


def skips(count: int) -> list[SkippedInstance]:
    return [
        SkippedInstance(instance_id=f"{n:016x}", name=f"m{n}", reason=f"used {n % 7} min ago")
        for n in range(count)
    ]


def test_a_few_skips_are_logged_one_by_one(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.INFO, logger="flows.sweeps.report"):
        log_skipped(skips(3))
    assert [r.getMessage() for r in caplog.records] == [
        "Skip m0 (0000000000000000): used 0 min ago",
        "Skip m1 (0000000000000001): used 1 min ago",
        "Skip m2 (0000000000000002): used 2 min ago",
    ]


def test_ten_thousand_skips_are_one_line(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.INFO, logger="flows.sweeps.report"):
        log_skipped(skips(10_000))
    assert len(caplog.records) == 1 < MAX_LOGGED_SKIPS
    assert caplog.records[0].getMessage().startswith("Skipped 10000 instance(s): 10000 used N min")
