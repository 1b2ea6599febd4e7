"""The column types of exact amounts and of instants, the same on SQLite and PostgreSQL.

``ExactDecimal``: NUMERIC(15, 6), at most 15 digits of which 6 after the point. PostgreSQL keeps
it exactly; SQLite keeps a number as an integer or a double, and a double holds any decimal of at
most 15 significant digits exactly enough to give it back (SQLAlchemy reads it with 6 decimals).
``limits.check_row`` refuses a value outside these bounds before the database sees it, so every
value the record accepts comes back equal. Values are read back without trailing zeros
(``Decimal('0.5')``, ``Decimal('500')``) whichever database held them.

``UtcDateTime``: an instant, stored in UTC (``timestamptz`` on PostgreSQL; on SQLite the UTC wall
clock), refused when naive (a time without a zone names no instant), read back aware in UTC.
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import DateTime, Dialect, Numeric
from sqlalchemy.types import TypeDecorator

#: NUMERIC(PRECISION, SCALE) for every amount (dose, volume, laboratory value, age in months).
PRECISION = 15
SCALE = 6


def plain(value: Decimal) -> Decimal:
    """``value`` without trailing zeros and without an exponent: 500.000000 -> 500, 0.50 -> 0.5."""
    if value == value.to_integral_value():
        return value.quantize(Decimal(1))
    return value.normalize()


class ExactDecimal(TypeDecorator[Decimal]):
    impl = Numeric(PRECISION, SCALE, asdecimal=True)
    cache_ok = True

    def process_result_value(self, value: Any, dialect: Dialect) -> Decimal | None:
        return None if value is None else plain(Decimal(value))


class NaiveTimeError(ValueError):
    """A datetime without a zone was about to be stored: it names no instant."""


class UtcDateTime(TypeDecorator[datetime]):
    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None or value.utcoffset() is None:
            raise NaiveTimeError(f"{value.isoformat()} has no time zone: the record keeps instants")
        utc = value.astimezone(UTC)
        return utc.replace(tzinfo=None) if dialect.name == "sqlite" else utc

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:  # SQLite: the UTC wall clock
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)
