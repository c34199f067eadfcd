"""The examples in the prober modules' docstrings run and say what they show."""

import doctest
from types import ModuleType

import pytest

from clients import (
    endpoint_address,
    endpoint_backoff,
    endpoint_gateway_page,
    endpoint_models,
    endpoint_prober,
    http_session,
)


@pytest.mark.parametrize(
    "module",
    [
        endpoint_address,
        endpoint_backoff,
        endpoint_gateway_page,
        endpoint_models,
        endpoint_prober,
        http_session,
    ],
)
def test_docstring_examples(module: ModuleType) -> None:
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS)
    assert result.attempted > 0 and result.failed == 0
