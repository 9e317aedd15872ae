"""The one formatting layer: every amount, percentage and number a person reads, in their locale.

Pages, PDFs and charts call these (as Jinja filters: ``money``, ``amount``, ``percent``,
``ratio``, ``number``), never ``str()`` or ``%``-formatting of a value. In Dutch and French a
decimal comma, the locale's grouping and the locale's place of the currency sign and the percent
sign (``€ 8.000,50`` and ``7,2%`` in nl, ``8 000,50 €`` and ``7,2 %`` in fr).

Babel parses the pattern and walks the locale's data on every call (about 60 µs); a page of
schedules and ledgers formats hundreds of figures, most of them repeated, so each text is kept per
process, keyed by the function, its digits, the locale and the value's type and exact text (a
bounded map, emptied when full): the same value in the same locale always reads the same.
"""
from __future__ import annotations

from decimal import Decimal

from babel.numbers import format_currency, format_decimal, format_percent
from flask_babel import get_locale

CENT = Decimal("0.01")

class TextCache:
    """Formatted texts kept per process by a key, at most ``kept`` of them (emptied when full)."""

    def __init__(self, kept: int = 20_000):
        self._texts: dict = {}
        self._kept = kept

    def get(self, key, make) -> str:
        """The text of ``key``, made by ``make()`` the first time."""
        text = self._texts.get(key)
        if text is None:
            text = make()
            if len(self._texts) >= self._kept:
                self._texts.clear()
            self._texts[key] = text
        return text


#: formatted texts by (function, digits, locale, type of the value, its text); see the docstring
_TEXTS = TextCache()


def _locale():
    return get_locale() or "en"


def _cached(kind: str, digits: int, value, compute) -> str:
    locale = _locale()
    return _TEXTS.get((kind, digits, str(locale), type(value), str(value)), lambda: compute(value, locale))


def money(value) -> str:
    """An amount in euros with its sign, as the reader writes it: ``€ 8.000,50`` (nl)."""
    if value is None or value == "":
        return ""
    return _cached("money", 0, value, _money)


def _money(value, locale) -> str:
    return format_currency(Decimal(value), "EUR", locale=locale)


def amount(value) -> str:
    """An amount with two decimals and no sign, for a column whose heading says "(EUR)"."""
    if value is None or value == "":
        return ""
    return _cached("amount", 0, value, _amount)


def _amount(value, locale) -> str:
    return format_decimal(Decimal(value), "#,##0.00", locale=locale)


def percent(value, digits: int = 2) -> str:
    """A rate given in percent points (``Decimal("7.2")`` for 7.2 %), with at most ``digits`` decimals."""
    if value is None or value == "":
        return ""
    return ratio(Decimal(value) / 100, digits)


def ratio(value, digits: int = 2) -> str:
    """A fraction (``0.1113``) shown as a percentage (``11,13 %`` in fr) with at most ``digits`` decimals."""
    if value is None or value == "":
        return ""
    return _cached("ratio", digits, value, lambda value, locale: _ratio(value, locale, digits))


def _ratio(value, locale, digits: int) -> str:
    points = (Decimal(value) * 100).quantize(Decimal(1).scaleb(-digits)).normalize()
    return format_percent(points / 100, locale=locale, decimal_quantization=False)


def number(value, digits: int = 0) -> str:
    """A count or a measure with the locale's grouping (``12.345`` in nl)."""
    if value is None or value == "":
        return ""
    return _cached("number", digits, value, lambda value, locale: _number(value, locale, digits))


def _number(value, locale, digits: int) -> str:
    pattern = "#,##0" + ("." + "0" * digits if digits else "")
    return format_decimal(Decimal(value), pattern, locale=locale)


FILTERS = {"money": money, "amount": amount, "percent": percent, "ratio": ratio, "number": number}
