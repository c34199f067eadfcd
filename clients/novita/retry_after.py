"""How long a server asks us to wait before trying again: ``Retry-After`` in all its forms.

Example:
    >>> parse_retry_after({"Retry-After": "3"})
    3.0
    >>> parse_retry_after({"Retry-After-Ms": "1500"})
    1.5

"""

from __future__ import annotations

import email.utils
import math
import time
from collections.abc import Mapping

import httpx

__all__ = ["parse_retry_after"]


def parse_retry_after(
    headers: Mapping[str, str] | httpx.Headers, now: float | None = None
) -> float | None:
    """Read how long the server asks us to wait, in seconds.

    Understands ``Retry-After`` as delta-seconds or as an HTTP-date, and the non-standard
    ``Retry-After-Ms`` some gateways send.

    Args:
        headers: Response headers (case-insensitive lookup when given ``httpx.Headers``).
        now: Current Unix time, for HTTP-dates (defaults to ``time.time()``).

    Returns:
        Seconds to wait (never negative), or None when the server gave no usable hint.

    Example:
        >>> parse_retry_after({"Retry-After": "Wed, 21 Oct 2015 07:28:00 GMT"},
        ...                   now=1445412470.0)
        10.0
        >>> parse_retry_after({"Retry-After": "soon"}) is None
        True

    """
    lowered = {k.lower(): v for k, v in headers.items()}
    raw_ms = lowered.get("retry-after-ms")
    if raw_ms:
        try:
            value = float(raw_ms) / 1000.0
        except ValueError:
            value = math.nan
        if math.isfinite(value):
            return max(0.0, value)
    raw = lowered.get("retry-after")
    if not raw:
        return None
    raw = raw.strip()
    try:
        value = float(raw)
    except ValueError:
        pass
    else:
        return max(0.0, value) if math.isfinite(value) else None
    try:
        when = email.utils.parsedate_to_datetime(raw)
    except (TypeError, ValueError, IndexError):
        return None
    if when is None:
        return None
    current = time.time() if now is None else now
    return max(0.0, when.timestamp() - current)
