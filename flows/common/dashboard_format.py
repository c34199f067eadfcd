"""How the dashboard artifacts write money, durations and moments, so every table reads alike."""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal

NONE = "-"
"""What a cell shows when there is nothing to show."""


def format_usd(value: Decimal | None) -> str:
    """Dollars with at least two decimals, more when the price has them (prices go to 1e-5).

    Example:
        >>> format_usd(Decimal("0.3")), format_usd(Decimal("0.34512")), format_usd(None)
        ('$0.30', '$0.34512', '-')

    """
    if value is None:
        return NONE
    exponent = value.normalize().as_tuple().exponent
    if isinstance(exponent, int) and exponent < -2:
        return f"${value.normalize()}"
    return f"${value:.2f}"


def format_cost(value: Decimal | None) -> str:
    """An amount spent, rounded to the cent.

    Example:
        >>> format_cost(Decimal("0.6049"))
        '$0.60'

    """
    return NONE if value is None else f"${value:.2f}"


def format_duration(span: timedelta) -> str:
    """A short human duration: `45s`, `12m`, `3h 05m`, `2d 4h` (never negative).

    Example:
        >>> format_duration(timedelta(hours=3, minutes=5)), format_duration(timedelta(seconds=9))
        ('3h 05m', '9s')

    """
    seconds = max(int(span.total_seconds()), 0)
    if seconds < 60:
        return f"{seconds}s"
    minutes = seconds // 60
    days, rest = divmod(minutes, 24 * 60)
    hours, mins = divmod(rest, 60)
    if days:
        return f"{days}d {hours}h"
    if hours:
        return f"{hours}h {mins:02d}m"
    return f"{mins}m"


def format_moment(moment: datetime | None) -> str:
    """A UTC moment to the second.

    Example:
        >>> from datetime import UTC
        >>> format_moment(datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC))
        '2026-01-02 03:04:05 UTC'

    """
    return NONE if moment is None else f"{moment:%Y-%m-%d %H:%M:%S} UTC"


def format_ago(moment: datetime | None, now: datetime) -> str:
    """A UTC moment to the minute, with how long ago it was.

    Example:
        >>> from datetime import UTC
        >>> t = datetime(2026, 1, 2, 3, 4, tzinfo=UTC)
        >>> format_ago(t, t + timedelta(minutes=12))
        '2026-01-02 03:04 UTC (12m ago)'

    """
    if moment is None:
        return NONE
    return f"{moment:%Y-%m-%d %H:%M} UTC ({format_duration(now - moment)} ago)"
