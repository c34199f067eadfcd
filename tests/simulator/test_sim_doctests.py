"""Run the docstring examples of the simulator's modules."""

from __future__ import annotations

import doctest
import importlib

import pytest

MODULES = [
    "simulator.admin",
    "simulator.app",
    "simulator.catalog",
    "simulator.clock",
    "simulator.controls",
    "simulator.endpoints",
    "simulator.errors",
    "simulator.faults",
    "simulator.gateway",
    "simulator.instance",
    "simulator.jobs",
    "simulator.lifecycle",
    "simulator.ratelimit",
    "simulator.requestlog",
    "simulator.requeststats",
    "simulator.seed",
    "simulator.server",
    "simulator.state",
    "simulator.validation",
    "simulator.__main__",
]


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name: str) -> None:
    result = doctest.testmod(importlib.import_module(name), optionflags=doctest.ELLIPSIS)
    assert result.failed == 0


def test_public_names_are_exported_lazily() -> None:
    import simulator

    assert simulator.DEFAULT_API_KEY == "sk_sim_fake_key_for_local_use_only"
    assert simulator.SimulatorServer.__name__ == "SimulatorServer"
    with pytest.raises(AttributeError):
        _ = simulator.nothing_here
