"""A referral typed into a web form, turned into the API's body and checked by the API's rules.

The self-referral page (``/refer``) and the advisers' portal (``/portal/``) both collect the fields
of ``core.api.schemas.ReferralIn`` in a form. This module builds the API's body from the form's
fields and validates it with the same pydantic model the API uses, so a form can never accept what
the API would refuse; pydantic's errors come back keyed by the form's field names, worded by the
caller (an entrepreneur and an adviser are addressed differently).
"""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from pydantic import ValidationError

from core.services.errors import ValidationFailed

APPLICANT_FIELDS = ("first_name", "last_name", "birth_date", "national_number", "email", "phone",
                    "postal_code", "language", "collective_debt_settlement", "undischarged_bankruptcy")
PROJECT_FIELDS = ("amount_requested", "sector", "stage", "purpose", "purpose_category", "enterprise_number",
                  "enterprise_started_on", "term_months")
#: the form's name of a field of ``ReferralIn`` that is not named alike
FORM_NAMES = {("refusal", "decided_on"): "refused_on", ("refusal", "reasons"): "refusal_reasons",
              ("consent", "given_at"): "consent_given_on", ("consent", "method"): "consent_method",
              ("consent", "scope"): "consent"}

REQUIRED = _l("Fill in this field.")
#: the field messages the portal and the self-referral form share (each adds the ones that speak
#: to its reader: the applicant's name or "your" name)
FIELD_MESSAGES = {
    "national_number": _l("This is not a valid Belgian national register number."),
    "email": _l("Enter a valid e-mail address."),
    "phone": _l("Enter a valid phone number, for example +32 470 12 34 56."),
    "postal_code": _l("Enter a Belgian postal code (4 digits)."),
    "language": _l("Choose a language."),
    "amount_requested": _l("Enter an amount above zero and at most one million euros."),
    "sector": _l("Choose a sector."),
    "purpose": _l("Say what the money is for."),
    "purpose_category": _l("Choose what the money is for."),
    "enterprise_number": _l("This is not a valid Belgian enterprise number."),
    "enterprise_started_on": _l("This date cannot be in the future."),
    "term_months": _l("Give a term from 1 to 360 months."),
    "refused_on": _l("This date cannot be in the future."),
    "refusal_reasons": _l("Choose at least one reason."),
}
CONTACT_MEANS = _l("Give an e-mail address, a phone number or both.")


def filled(value) -> bool:
    """Whether a form value was given (an empty text, list or choice counts as missing)."""
    return value not in (None, "", [])


def body(fields: dict, *, external_reference: str, consent: dict) -> dict:
    """The ``ReferralIn`` body of a form's fields (empty ones left out, so they count as missing)."""
    return {
        "external_reference": external_reference,
        "consent": consent,
        "applicant": {k: fields.get(k) for k in APPLICANT_FIELDS if filled(fields.get(k))},
        "project": {k: fields.get(k) for k in PROJECT_FIELDS if filled(fields.get(k))},
        "refusal": {k: v for k, v in {"decided_on": fields.get("refused_on"),
                                      "reasons": fields.get("refusal_reasons")}.items() if filled(v)},
    }


def form_errors(error: ValidationError, messages: dict) -> dict:
    """Pydantic's errors as translated messages keyed by the form's field names.

    ``messages`` maps a field name to the message shown when its value is wrong; a missing value
    shows ``REQUIRED`` (a missing refusal reason: the field's message); no contact means at all
    shows ``CONTACT_MEANS`` on both the e-mail and the phone field."""
    errors = {}
    for item in error.errors():
        loc = tuple(part for part in item["loc"] if isinstance(part, str))
        if loc == ("applicant",) and "contact means" in item.get("msg", ""):
            errors.setdefault("email", CONTACT_MEANS)
            errors.setdefault("phone", CONTACT_MEANS)
            continue
        name = FORM_NAMES.get(loc[:2]) or (loc[1] if len(loc) > 1 else loc[0] if loc else "")
        missing = item["type"] == "missing" or (name == "refusal_reasons" and item["type"] == "too_short")
        errors.setdefault(name, REQUIRED if missing and name != "refusal_reasons" else
                          messages.get(name, _l("Check this field.")))
    return errors


def validate(payload: dict, messages: dict, extra_errors: dict | None = None):
    """``payload`` (built by ``body``) as a ``ReferralIn``, or ``ValidationFailed`` naming every
    wrong field at once, ``extra_errors`` (the form's own rules, e.g. a missing consent) included."""
    from core.api.schemas import ReferralIn

    errors = dict(extra_errors or {})
    try:
        data = ReferralIn.model_validate(payload)
    except ValidationError as error:
        data, errors = None, {**form_errors(error, messages), **errors}
    if errors:
        raise ValidationFailed(errors)
    return data
