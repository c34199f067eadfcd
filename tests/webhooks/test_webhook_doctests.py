"""The examples in the webhook and outbound-guard modules' docstrings run and say what they show."""

import doctest
from types import ModuleType

import pytest

from clients import (
    guarded_connect,
    outbound_guard,
    webhook_payload,
    webhook_retry_policy,
    webhook_sender,
    webhook_signature,
)


@pytest.mark.parametrize(
    "module",
    [
        webhook_payload,
        webhook_signature,
        webhook_retry_policy,
        webhook_sender,
        outbound_guard,
        guarded_connect,
    ],
)
def test_docstring_examples(module: ModuleType) -> None:
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS)
    assert result.attempted > 0 and result.failed == 0
