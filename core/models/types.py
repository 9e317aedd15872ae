"""Column types shared by all models: UTC timestamps and money."""
from __future__ import annotations

from datetime import datetime, timezone
from decimal import ROUND_HALF_UP, Decimal

from sqlalchemy import BigInteger, DateTime
from sqlalchemy.types import TypeDecorator

CENT = Decimal("0.01")


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


class UTCDateTime(TypeDecorator):
    """An aware UTC datetime, stored naive in UTC (SQLite keeps no zone)."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        return value.astimezone(timezone.utc).replace(tzinfo=None)

    def process_result_value(self, value, dialect):
        return value.replace(tzinfo=timezone.utc) if value is not None else None


def to_money(value) -> Decimal:
    """A Decimal rounded half-up to the cent. Floats are refused: money never passes through one."""
    if isinstance(value, float):
        raise TypeError("money must not be a float")
    return Decimal(value).quantize(CENT, rounding=ROUND_HALF_UP)


class Money(TypeDecorator):
    """EUR as ``Decimal`` in Python, integer cents in the database."""

    impl = BigInteger
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        if value.__class__ is Decimal:  # the usual case, already in whole cents: no rounding to do
            cents = value.scaleb(2)
            whole = int(cents)
            if whole == cents:
                return whole
        return int(to_money(value) * 100)

    def process_result_value(self, value, dialect):
        return (Decimal(value) / 100).quantize(CENT) if value is not None else None


class Percent(TypeDecorator):
    """A percentage as ``Decimal`` (e.g. ``Decimal("12.13")``), stored exactly as thousandths of a
    percent in an integer column (SQLite would round ``Numeric`` through float)."""

    impl = BigInteger
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        if isinstance(value, float):
            raise TypeError("a percentage must not be a float")
        return int((Decimal(value) * 1000).quantize(Decimal(1), rounding=ROUND_HALF_UP))

    def process_result_value(self, value, dialect):
        return (Decimal(value) / 1000).normalize() if value is not None else None
