"""The examples in the Novita client's docstrings run and say what they show."""

import doctest
from types import ModuleType

import pytest

from clients.novita import (
    _base,
    answer_parsing,
    catalog,
    client,
    create_request,
    error_base,
    error_classification,
    errors,
    http_attempt,
    instances,
    jobs,
    pagination,
    redaction,
    retry,
    retry_after,
    templates,
)


@pytest.mark.parametrize(
    "module",
    [
        _base,
        answer_parsing,
        catalog,
        client,
        create_request,
        error_base,
        error_classification,
        errors,
        http_attempt,
        instances,
        jobs,
        pagination,
        redaction,
        retry,
        retry_after,
        templates,
    ],
    ids=lambda m: m.__name__,
)
def test_docstring_examples(module: ModuleType) -> None:
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS)
    assert result.attempted > 0 and result.failed == 0
