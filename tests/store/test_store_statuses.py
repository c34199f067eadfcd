"""The status vocabulary's docstring table says exactly what its sets hold."""

from __future__ import annotations

import re

import store.statuses as vocabulary

ROW = re.compile(r"^    (?P<name>[A-Z_]+)\s{2,}(?P<members>[a-zA-Z_]+(?:, [a-zA-Z_]+)*)$")


def documented_sets() -> dict[str, set[str]]:
    rows = (ROW.match(line) for line in (vocabulary.__doc__ or "").splitlines())
    return {m["name"]: set(m["members"].split(", ")) for m in rows if m}


def test_the_docstring_table_matches_the_sets() -> None:
    documented = documented_sets()
    assert set(documented) == set(vocabulary.__all__)
    for name, members in documented.items():
        assert {str(s) for s in getattr(vocabulary, name)} == members, name


def test_busy_and_serving_are_what_the_rules_expect() -> None:
    assert vocabulary.SETTLED_SERVING == vocabulary.SERVING - vocabulary.BUSY
    assert vocabulary.BRINGING_UP < vocabulary.BUSY
    assert not vocabulary.STOPPED & vocabulary.SERVING
