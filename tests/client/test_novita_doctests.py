"""The examples in every Novita client module's docstrings run and say what they show."""

import doctest
import importlib
import pkgutil

import pytest

import clients.novita

# Every module of the package, found rather than listed: a new module is tested too.
MODULES = sorted(
    f"clients.novita.{info.name}" for info in pkgutil.iter_modules(clients.novita.__path__)
)


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name: str) -> None:
    module = importlib.import_module(name)
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS)
    assert result.attempted > 0 and result.failed == 0


def test_every_module_is_found() -> None:
    assert {"clients.novita.client", "clients.novita.http_attempt"} <= set(MODULES)
