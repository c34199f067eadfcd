"""Column types that behave the same on SQLite and PostgreSQL.

SQLite has no timezone-aware timestamp and no exact decimal, so these decorators store UTC
timestamps as naive UTC text and prices as decimal text there, and hand back aware UTC
datetimes and ``Decimal`` values on every backend.
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Any

from sqlalchemy import DateTime, Dialect, Numeric, String
from sqlalchemy.types import TypeDecorator, TypeEngine

_PLACES = Decimal("0.00000001")


class UTCDateTime(TypeDecorator[datetime]):
    """A timestamp stored in UTC and always read back timezone-aware (UTC).

    Example:
        >>> from sqlalchemy import Column
        >>> Column("ready_at", UTCDateTime()).type.impl.timezone
        True

    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        """Convert to UTC; on SQLite drop the zone so stored text compares in time order."""
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the store; use timezone-aware UTC")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        """Return an aware UTC datetime whatever the backend gave back."""
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


class DecimalAmount(TypeDecorator[Decimal]):
    """An exact decimal amount: NUMERIC(18, 8) on PostgreSQL, decimal text on SQLite.

    Example:
        >>> DecimalAmount().process_result_value("0.69", None)
        Decimal('0.69')

    """

    impl = Numeric(18, 8)
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> TypeEngine[Any]:
        """Use text on SQLite, whose NUMERIC would round through a float."""
        if dialect.name == "sqlite":
            return dialect.type_descriptor(String(40))
        return dialect.type_descriptor(Numeric(18, 8))

    def process_bind_param(self, value: Decimal | None, dialect: Dialect) -> Any:
        """Store the exact decimal (as text on SQLite)."""
        if value is None:
            return None
        # Same rounding on every backend: what PostgreSQL's NUMERIC(18, 8) would keep.
        value = Decimal(value).quantize(_PLACES, rounding=ROUND_HALF_EVEN)
        return str(value) if dialect.name == "sqlite" else value

    def process_result_value(self, value: Any, dialect: Dialect | None) -> Decimal | None:
        """Return a ``Decimal`` without the padding zeros NUMERIC adds (0.69, not 0.69000000)."""
        if value is None:
            return None
        amount = Decimal(str(value))
        if amount == amount.to_integral_value():
            return amount.quantize(Decimal(1))
        return amount.normalize()
