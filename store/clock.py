"""UTC time for the store: one clock, and one rule (every datetime is timezone-aware UTC)."""

from __future__ import annotations

from datetime import UTC, datetime


def utc_now() -> datetime:
    """Return the current time as a timezone-aware UTC datetime.

    Example:
        >>> utc_now().tzinfo is UTC
        True

    """
    return datetime.now(UTC)


def ensure_utc(value: datetime) -> datetime:
    """Return ``value`` converted to UTC; a naive datetime is refused.

    Naive datetimes are refused rather than guessed: ``datetime.now()`` is local time on
    most machines, and a silent guess would shift auto-stop decisions by hours.

    Args:
        value: A timezone-aware datetime, in any zone.

    Raises:
        ValueError: When ``value`` has no timezone.

    Example:
        >>> from datetime import timedelta, timezone
        >>> ensure_utc(datetime(2026, 1, 1, 2, tzinfo=timezone(timedelta(hours=2)))).hour
        0

    """
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"datetime must be timezone-aware (UTC), got naive {value.isoformat()}")
    return value.astimezone(UTC)
