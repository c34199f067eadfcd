"""Decode a JSON answer of Novita without letting a hostile shape crash the client.

``json.loads`` raises ``RecursionError`` (not ``ValueError``) on deeply nested input such as
``[[[[...]]]]``, and an answer nested a few hundred levels deep that does decode still
crashes every recursive walk after it (validation of extra fields, redaction of metadata).
Novita's real answers nest five levels at most; anything deeper than ``MAX_JSON_DEPTH`` is
refused here as a ``ValueError``, like any other body that is not the JSON we expect.

Example:
    >>> decode_json(b'{"data": [{"id": "us-ca-6"}]}')
    {'data': [{'id': 'us-ca-6'}]}
    >>> decode_json(b"[" * 100 + b"]" * 100)
    Traceback (most recent call last):
    ...
    clients.novita.json_body.JSONTooDeepError: JSON nested deeper than 64 levels

"""

from __future__ import annotations

import json
from typing import Any

__all__ = ["MAX_JSON_DEPTH", "JSONTooDeepError", "decode_json"]

MAX_JSON_DEPTH = 64
"""Deepest nesting of lists and objects accepted in an answer."""


class JSONTooDeepError(ValueError):
    """The body nests lists or objects deeper than ``MAX_JSON_DEPTH``."""

    def __init__(self) -> None:
        super().__init__(f"JSON nested deeper than {MAX_JSON_DEPTH} levels")


def decode_json(content: bytes | str) -> Any:
    """Decode ``content`` as JSON, nested at most ``MAX_JSON_DEPTH`` levels.

    Raises:
        JSONTooDeepError: Nested deeper than ``MAX_JSON_DEPTH`` levels.
        ValueError: Not JSON (``json.JSONDecodeError``), or bytes that are not UTF-8/16/32
            (``UnicodeDecodeError``); both are ``ValueError`` subclasses.

    Example:
        >>> decode_json(b"")
        Traceback (most recent call last):
        ...
        json.decoder.JSONDecodeError: Expecting value: line 1 column 1 (char 0)

    """
    try:
        value = json.loads(content)
    except RecursionError:
        raise JSONTooDeepError() from None
    if _deeper_than(value, MAX_JSON_DEPTH):
        raise JSONTooDeepError()
    return value


def _deeper_than(value: Any, limit: int) -> bool:
    # Iterative on purpose: a recursive walk is what this guards against.
    pending: list[tuple[Any, int]] = [(value, 0)]
    while pending:
        item, depth = pending.pop()
        if isinstance(item, dict):
            children: Any = item.values()
        elif isinstance(item, list):
            children = item
        else:
            continue
        if depth >= limit:
            return True
        pending.extend((child, depth + 1) for child in children)
    return False
