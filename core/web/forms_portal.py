"""The advisers' portal forms: an applicant referred by a bank's or public financier's adviser, and
the operator's invitation of a portal user.

The referral fields are those of the self-referral form (``ReferralFieldsForm``: the API's fields),
worded for an adviser speaking of the applicant; the consent is the one the applicant signed on
the printable consent form, attested by the adviser.
"""
from __future__ import annotations

import secrets

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, DateField, EmailField, HiddenField, SelectField, StringField
from wtforms.validators import Optional

from core.services.portal import CONSENT_METHODS
from core.web.filters import REFUSAL_LABELS
from core.web.forms import LANGUAGE_CHOICES
from core.web.forms_clients import pairs
from core.web.forms_refer import ReferralFieldsForm

CONSENT_METHOD_LABELS = {
    "written": _l("Signed on the printed consent form"),
    "electronic": _l("Given electronically"),
    "verbal_recorded": _l("Given orally, and recorded"),
}
UNKNOWN_YES_NO = [("", _l("Unknown")), ("no", _l("No")), ("yes", _l("Yes"))]
#: the adviser's wording of the shared fields (the self-referral form speaks to the applicant)
ADVISER_LABELS = {
    "language": _l("Language to contact the applicant in"),
    "amount_requested": _l("Amount needed (EUR)"),
    "stage": _l("Where the project stands"),
    "enterprise_started_on": _l("Start of the activity (optional)"),
    "collective_debt_settlement": _l("Is the applicant in a collective debt settlement?"),
    "undischarged_bankruptcy": _l("Has the applicant been declared bankrupt, not yet discharged?"),
    "refused_on": _l("Date of your refusal"),
    "refusal_reasons": _l("Why you refused"),
    "email": _l("E-mail address (or a phone number)"),
    "phone": _l("Phone (or an e-mail address)"),
}


class PortalReferralForm(ReferralFieldsForm):
    """The referral's fields, your reference, the consent the applicant gave, your attestation."""

    NOT_FIELDS = ("csrf_token", "form_key")

    external_reference = StringField(_l("Your reference for this file"))
    consent_given_on = DateField(_l("Date the applicant gave consent"), validators=[Optional()])
    consent_method = SelectField(_l("How the applicant gave consent"), validate_choice=False,
                                 choices=pairs(((m, CONSENT_METHOD_LABELS[m]) for m in CONSENT_METHODS), "—"))
    impact_survey = BooleanField(_l("The applicant also agreed to be asked later to answer a short survey."))
    attestation = BooleanField(_l("I attest that the applicant agreed, as on the consent form, that these data "
                                  "are passed to the microfinance sector's registry and to one microfinance "
                                  "institution, which will contact them; the signed form is kept in our file."))
    #: one key per form shown: the same form sent twice stores one referral
    form_key = HiddenField()

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for name, label in ADVISER_LABELS.items():
            getattr(self, name).label.text = label
        self.collective_debt_settlement.choices = pairs(UNKNOWN_YES_NO)
        self.undischarged_bankruptcy.choices = pairs(UNKNOWN_YES_NO)
        self.refusal_reasons.choices = pairs(REFUSAL_LABELS.items())
        if not self.form_key.data:
            self.form_key.data = secrets.token_urlsafe(16)


class PortalInviteForm(FlaskForm):
    """The operator invites an adviser of a referrer organisation to the portal."""

    referrer_id = SelectField(_l("Organisation"), validate_choice=False)
    name = StringField(_l("Name"))
    email = EmailField(_l("Email"))
    preferred_language = SelectField(_l("Language"), choices=LANGUAGE_CHOICES)
