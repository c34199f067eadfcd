"""Webhook URLs as they may be shown and stored: query values and passwords replaced.

A token riding in a URL (`?token=...`) must never reach a log, a record or a UI.

Example:
    >>> redact_url("https://hooks.example/novita?token=s3cr3t&team=ml")
    'https://hooks.example/novita?token=REDACTED&team=REDACTED'
    >>> carries_secret("https://hooks.example/novita")
    False

"""

from __future__ import annotations

from collections.abc import Iterable
from urllib.parse import parse_qsl, quote, urlsplit, urlunsplit

__all__ = ["REDACTED", "carries_secret", "redact_url", "scrub"]

REDACTED = "REDACTED"


def carries_secret(url: str) -> bool:
    """True when the URL has a query string or a user/password part (either may be a token).

    Example:
        >>> carries_secret("https://user:pw@hooks.example/x")
        True

    """
    parts = urlsplit(url)
    return bool(parts.query or parts.username or parts.password)


def redact_url(url: str) -> str:
    """The URL with every query value and the userinfo replaced by `REDACTED`.

    Keys stay readable (`?token=REDACTED`), so a reader still sees what the URL carries.

    Example:
        >>> redact_url("http://bot:pw@127.0.0.1:9000/hooks?sig=abc")
        'http://REDACTED@127.0.0.1:9000/hooks?sig=REDACTED'

    """
    try:
        parts = urlsplit(url)
    except ValueError:
        return REDACTED  # not even a URL: show nothing of it
    netloc = parts.netloc
    if parts.username or parts.password:
        netloc = f"{REDACTED}@{netloc.rpartition('@')[2]}"
    query = "&".join(
        f"{quote(key, safe='')}={REDACTED}"
        for key, _ in parse_qsl(parts.query, keep_blank_values=True)
    )
    if parts.query and not query:
        query = REDACTED
    return urlunsplit((parts.scheme, netloc, parts.path, query, ""))


def scrub(text: str, urls: Iterable[str]) -> str:
    """`text` with each URL, and each of its query values and passwords, replaced.

    For error messages that may quote the URL they failed on.

    Example:
        >>> url = "https://h.example/x?token=abc123"
        >>> scrub(f"cannot reach {url} (abc123)", [url])
        'cannot reach https://h.example/x?token=REDACTED (REDACTED)'

    """
    for url in urls:
        if not url:
            continue
        text = text.replace(url, redact_url(url))
        parts = urlsplit(url)
        secrets = [value for _, value in parse_qsl(parts.query) if len(value) >= 4]
        secrets += [p for p in (parts.password,) if p]
        for secret in secrets:
            text = text.replace(secret, REDACTED)
    return text
