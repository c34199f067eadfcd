"""The docstring examples of the benchmark modules run (no server, no simulator)."""

from __future__ import annotations

import doctest
import importlib
import pkgutil

import pytest

import bench

MODULES = sorted(f"bench.{m.name}" for m in pkgutil.iter_modules(bench.__path__))


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples_run(name: str) -> None:
    module = importlib.import_module(name)
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS)
    assert result.failed == 0
