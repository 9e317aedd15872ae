"""The self-referral form of ``/refer``: the API's fields, typed by the entrepreneur.

The form parses what was typed (dates, numbers, the amount in the reader's language); the rules are
the API's, applied by ``core.services.self_referrals.validate``. Its strings are also translated
into German (the /refer pages' extra language).
"""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, DateField, EmailField, IntegerField, SelectField, SelectMultipleField, StringField
from wtforms import TelField, TextAreaField
from wtforms.validators import Optional

from core.api.schemas import PURPOSE_CATEGORIES, SECTORS, STAGES
from core.web.forms_clients import choices, pairs
from core.labels import SECTOR_LABELS, STAGE_LABELS
from core.web.money_fields import AmountField

#: the languages are named in their own language (not translated)
LANGUAGE_NAMES = {"nl": "Nederlands", "fr": "Français", "en": "English", "de": "Deutsch"}
PURPOSE_LABELS = {"investment": _l("an investment (equipment, a vehicle, works)"),
                  "working_capital": _l("working capital (stock, running costs)"),
                  "refinancing": _l("paying off another debt")}
#: the refusal reasons an entrepreneur can recognise in a bank's letter (the API's codes)
REFUSAL_REASONS = {
    "insufficient_collateral": _l("not enough guarantees"),
    "insufficient_equity": _l("not enough own funds"),
    "insufficient_repayment_capacity": _l("repayments too high for my income"),
    "negative_credit_history": _l("a negative credit history"),
    "no_track_record": _l("my enterprise is too new"),
    "sector_policy": _l("the bank does not finance my sector"),
    "amount_too_small": _l("the amount is too small for the bank"),
    "incomplete_business_plan": _l("my business plan was incomplete"),
    "other": _l("another reason, or I do not know"),
}
YES_NO = [("", _l("I prefer not to say")), ("no", _l("No")), ("yes", _l("Yes"))]


class ReferralFieldsForm(FlaskForm):
    """Every field of a referral (``ReferralIn``) but the consent: shared by ``/refer`` and the
    advisers' portal, whose forms add their own consent fields."""

    #: fields that are the form's machinery, not the referral's
    NOT_FIELDS = ("csrf_token",)

    first_name = StringField(_l("First name"))
    last_name = StringField(_l("Last name"))
    birth_date = DateField(_l("Date of birth"), validators=[Optional()])
    national_number = StringField(_l("National register number (optional)"))
    email = EmailField(_l("E-mail address"))
    phone = TelField(_l("Phone (optional)"))
    postal_code = StringField(_l("Postal code"))
    language = SelectField(_l("Language we contact you in"), validate_choice=False,
                           choices=pairs(LANGUAGE_NAMES.items()))
    amount_requested = AmountField(_l("Amount you need (EUR)"))
    sector = SelectField(_l("Sector"), validate_choice=False, choices=choices(SECTORS, SECTOR_LABELS, "—"))
    stage = SelectField(_l("Where your project stands"), validate_choice=False,
                        choices=choices(STAGES, STAGE_LABELS, "—"))
    purpose = TextAreaField(_l("What the money is for"))
    purpose_category = SelectField(_l("Kind of expense (optional)"), validate_choice=False,
                                   choices=choices(PURPOSE_CATEGORIES, PURPOSE_LABELS, "—"))
    enterprise_number = StringField(_l("Enterprise number (optional)"))
    enterprise_started_on = DateField(_l("Start of your activity (optional)"), validators=[Optional()])
    term_months = IntegerField(_l("Term in months (optional)"), validators=[Optional()])
    collective_debt_settlement = SelectField(_l("Are you in a collective debt settlement?"),
                                             validate_choice=False, choices=pairs(YES_NO))
    undischarged_bankruptcy = SelectField(_l("Have you been declared bankrupt, not yet discharged?"),
                                          validate_choice=False, choices=pairs(YES_NO))
    refused_on = DateField(_l("Date of the bank's refusal"), validators=[Optional()])
    refusal_reasons = SelectMultipleField(_l("Why the bank refused"), validate_choice=False,
                                          choices=pairs(REFUSAL_REASONS.items()))

    def fields(self) -> dict:
        """What was typed, as the services take it (texts stripped, yes/no as booleans)."""
        values = {name: field.data for name, field in self._fields.items() if name not in self.NOT_FIELDS}
        for name, value in values.items():
            if isinstance(value, str):
                values[name] = value.strip()
        for name in ("collective_debt_settlement", "undischarged_bankruptcy"):
            values[name] = {"yes": True, "no": False}.get(values[name])
        return values


class SelfReferralForm(ReferralFieldsForm):
    """The referral's fields, the consent given on the page, and a honeypot (``website``)."""

    NOT_FIELDS = ("csrf_token", "website")

    consent = BooleanField(_l("I agree that the microfinance sector's registry keeps these data and "
                              "passes them to one microfinance institution, which will contact me about my request."))
    impact_survey = BooleanField(_l("I also agree to be asked later to answer a short survey."))
    website = StringField(_l("Leave this field empty"))  # the honeypot: people do not see it


class ConfirmForm(FlaskForm):
    """The button that confirms the address (a POST: a mail scanner opening the link confirms nothing)."""
