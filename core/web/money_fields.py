"""The form field of every amount in euros: read strictly in the reader's language, shown back
in it (``core.services.amounts``). What was typed stays in the field when it cannot be read."""
from __future__ import annotations

from flask_babel import get_locale
from wtforms import StringField

from core.services.amounts import AmountError, format_amount, parse_amount


def reader_locale() -> str:
    return str(get_locale() or "en")


class AmountField(StringField):
    """An amount in EUR: ``data`` is a ``Decimal`` (or ``None`` when left empty).

    ``1.234,56`` and ``1 234,56`` in nl/fr, ``1,234.56`` in en; three decimals, a letter or a
    minus sign give a field error in the reader's language.
    """

    def process_formdata(self, valuelist):
        if not valuelist:
            return
        self.data = None
        try:
            self.data = parse_amount(valuelist[0], reader_locale())
        except AmountError as error:
            raise ValueError(str(error.message)) from None

    def process_data(self, value):
        try:
            self.data = parse_amount(value, "en") if isinstance(value, str) else value
        except AmountError:
            self.data = None

    def _value(self) -> str:
        if self.raw_data:
            return self.raw_data[0]
        return format_amount(self.data, reader_locale()) if self.data is not None else ""


def field_errors_only(form) -> bool:
    """True when the form failed on its fields (shown next to them), not on its CSRF token."""
    return bool(form.errors) and "csrf_token" not in form.errors
