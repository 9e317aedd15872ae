"""The one formatting layer: every amount, percentage and number a person reads, in their locale.

Pages, PDFs and charts call these (as Jinja filters: ``money``, ``amount``, ``percent``,
``ratio``, ``number``), never ``str()`` or ``%``-formatting of a value. In Dutch and French a
decimal comma, the locale's grouping and the locale's place of the currency sign and the percent
sign (``€ 8.000,50`` and ``7,2%`` in nl, ``8 000,50 €`` and ``7,2 %`` in fr).
"""
from __future__ import annotations

from decimal import Decimal

from babel.numbers import format_currency, format_decimal, format_percent
from flask_babel import get_locale

CENT = Decimal("0.01")


def _locale():
    return get_locale() or "en"


def money(value) -> str:
    """An amount in euros with its sign, as the reader writes it: ``€ 8.000,50`` (nl)."""
    if value is None or value == "":
        return ""
    return format_currency(Decimal(value), "EUR", locale=_locale())


def amount(value) -> str:
    """An amount with two decimals and no sign, for a column whose heading says "(EUR)"."""
    if value is None or value == "":
        return ""
    return format_decimal(Decimal(value), "#,##0.00", locale=_locale())


def percent(value, digits: int = 2) -> str:
    """A rate given in percent points (``Decimal("7.2")`` for 7.2 %), with at most ``digits`` decimals."""
    if value is None or value == "":
        return ""
    return ratio(Decimal(value) / 100, digits)


def ratio(value, digits: int = 2) -> str:
    """A fraction (``0.1113``) shown as a percentage (``11,13 %`` in fr) with at most ``digits`` decimals."""
    if value is None or value == "":
        return ""
    points = (Decimal(value) * 100).quantize(Decimal(1).scaleb(-digits)).normalize()
    return format_percent(points / 100, locale=_locale(), decimal_quantization=False)


def number(value, digits: int = 0) -> str:
    """A count or a measure with the locale's grouping (``12.345`` in nl)."""
    if value is None or value == "":
        return ""
    pattern = "#,##0" + ("." + "0" * digits if digits else "")
    return format_decimal(Decimal(value), pattern, locale=_locale())


FILTERS = {"money": money, "amount": amount, "percent": percent, "ratio": ratio, "number": number}
