"""Amounts typed by a person, read strictly in their language (see docs/lending.md, "Amounts").

Babel reads the number with the locale's symbols (``strict=True``: a misplaced group separator is
refused, so ``1.23,4`` never becomes a number); on top of that an amount has at most two decimals
(``12,345`` in French or Dutch is twelve euros and a third of a cent: refused, never rounded) and
is never negative. In French and Dutch the thousands may be grouped with a dot, a space, a no-break
space or a narrow no-break space (``1.234,56``, ``1 234,56``); in English with a comma (``1,234.56``).
"""
from __future__ import annotations

from decimal import Decimal

from babel.numbers import NumberFormatError, format_decimal, get_decimal_symbol, get_group_symbol, parse_decimal
from flask_babel import lazy_gettext as _l

from core.models.types import to_money

_SPACES = (" ", "\u00a0", "\u202f")
_EXAMPLES = {",": "1.234,56", ".": "1,234.56"}


class AmountError(ValueError):
    """An amount that cannot be read; ``message`` is translatable and names the fix."""

    def __init__(self, message):
        super().__init__(message)
        self.message = message


def _language(locale) -> str:
    return str(locale or "en").split("_")[0].split("-")[0]


def example(locale) -> str:
    """How an amount is typed in ``locale``: ``1.234,56`` (nl, fr) or ``1,234.56`` (en)."""
    return _EXAMPLES[get_decimal_symbol(_language(locale))]


def _normalised(text: str, language: str) -> str:
    group = get_group_symbol(language)
    separators = _SPACES + ((".",) if get_decimal_symbol(language) == "," else (",",))
    for separator in separators:
        text = text.replace(separator, group)
    return text


def parse_amount(text, locale) -> Decimal | None:
    """The amount ``text`` typed in ``locale`` (``None`` when empty), or ``AmountError``.

    ``Decimal`` values (already read) pass through, checked the same way.
    """
    if isinstance(text, Decimal):
        value = text
    else:
        cleaned = str(text if text is not None else "").strip()
        if not cleaned:
            return None
        language = _language(locale)
        if any(ch.isalpha() for ch in cleaned):
            raise AmountError(_l("Type only digits and separators, such as %(example)s.", example=example(language)))
        try:
            value = parse_decimal(_normalised(cleaned, language), locale=language, strict=True)
        except NumberFormatError:
            raise AmountError(_l("This is not an amount: type it as %(example)s.", example=example(language))) from None
    if not value.is_finite():
        raise AmountError(_l("This is not an amount: type it as %(example)s.", example=example(locale)))
    if value.as_tuple().exponent < -2:
        raise AmountError(_l("An amount has at most two decimals (cents); for thousands type %(example)s.",
                             example=example(locale)))
    if value < 0:
        raise AmountError(_l("Enter an amount of zero or more."))
    return to_money(value)


def format_amount(value, locale) -> str:
    """``value`` as a person of ``locale`` types it: ``1.234,56`` (nl), ``1 234,56`` (fr), ``1,234.56`` (en)."""
    if value is None or value == "":
        return ""
    return format_decimal(Decimal(value), "#,##0.00", locale=_language(locale))
