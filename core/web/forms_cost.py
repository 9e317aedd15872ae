"""Forms of the cost and social-return page: a year's budget, and the estimate's assumptions."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import StringField

from core.services.reports.cost import ASSUMPTIONS, FIRST_YEAR, LAST_YEAR
from core.web.money_fields import AmountField


class YearField(StringField):
    """A calendar year typed as four digits; ``data`` is an ``int`` (None when empty or unreadable)."""

    def process_formdata(self, valuelist):
        if not valuelist:
            return
        text = valuelist[0].strip()
        self.data = int(text) if text.isdigit() and len(text) == 4 else None
        if text and self.data is None:
            raise ValueError(_l("Enter a year between %(first)s and %(last)s.", first=FIRST_YEAR, last=LAST_YEAR))


class BudgetForm(FlaskForm):
    year = YearField(_l("Year"))
    budget = AmountField(_l("Budget for the year (EUR)"),
                         description=_l("Everything the institution spends in the year to finance and coach "
                                        "its entrepreneurs."))


def assumptions_form(data: dict | None = None, formdata=None) -> FlaskForm:
    """A form with one field per assumption (its label and documentation from ``ASSUMPTIONS``)."""

    class AssumptionsForm(FlaskForm):
        pass

    for a in ASSUMPTIONS:
        setattr(AssumptionsForm, a.key, AmountField(a.label, description=a.help))
    return AssumptionsForm(formdata=formdata, data=data or {})
