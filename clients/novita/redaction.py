"""Scrub secrets out of text the server echoed, before it reaches an error or a log line.

Novita sometimes repeats what it was sent (a bad key in an auth error, an image credential in
a validation error). Everything of the server's that an error keeps goes through here first.

Example:
    >>> redact("bad key sk_live_123", ["sk_live_123"])
    'bad key [REDACTED]'

"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

__all__ = ["REDACTED", "redact", "redact_value"]

REDACTED = "[REDACTED]"
"""What a secret is replaced with."""

# A 1-2 character "secret" would shred every message while protecting nothing.
_MIN_SECRET_LENGTH = 3


def redact(text: str, secrets: Iterable[str]) -> str:
    """Replace every occurrence of each secret in ``text`` with ``[REDACTED]``.

    Args:
        text: Text that may echo a secret (a server message, a metadata value).
        secrets: Secret strings; empty ones and very short ones are ignored.

    Returns:
        The text with the secrets blanked out.

    Example:
        >>> redact("user bot:hunter2 denied", ["bot:hunter2", "hunter2"])
        'user [REDACTED] denied'

    """
    wanted = {s for s in secrets if s and len(s) >= _MIN_SECRET_LENGTH}
    # Longest first, so "bot:hunter2" is blanked whole rather than leaving "bot:".
    for secret in sorted(wanted, key=len, reverse=True):
        text = text.replace(secret, REDACTED)
    return text


def redact_value(value: Any, secrets: Iterable[str]) -> Any:
    """Redact every string inside a JSON-like value (dicts, lists, scalars).

    Example:
        >>> redact_value({"echo": ["sk_live_123", 4]}, ["sk_live_123"])
        {'echo': ['[REDACTED]', 4]}

    """
    secret_list = tuple(secrets)
    if isinstance(value, str):
        return redact(value, secret_list)
    if isinstance(value, Mapping):
        return {str(k): redact_value(v, secret_list) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [redact_value(v, secret_list) for v in value]
    return value
