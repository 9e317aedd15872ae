"""The audit trail in words (issue 15, point 3): record kinds and fields by their labels, codes by
their translated labels, dates and amounts in the reader's locale, lists as lists.

Field labels come from the forms that edit those fields (one place to translate a label), so a
field gets its label in the trail the day it gets one in a form; a field no form shows is written
with spaces for underscores.
"""
from __future__ import annotations

from datetime import date, datetime
import re
from decimal import Decimal
from functools import lru_cache

from flask_babel import format_date, format_datetime
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms.fields.core import UnboundField

from core import formatting
from core.services import audit
from core.web import filters, forms, forms_clients, forms_loans
from core.web.labels import REGION_LABELS, SECTOR_LABELS, STAGE_LABELS

RECORD_LABELS = {
    "clients": _l("Client"), "client_notes": _l("Note"), "consents": _l("Consent"), "loans": _l("Loan"),
    "loan_ledger": _l("Booking"), "users": _l("User"), "coaching_sessions": _l("Coaching session"),
    "trainings": _l("Training"), "enrolments": _l("Enrolment"), "referral_offers": _l("Referral"),
    "referrals": _l("Referral"), "institution_settings": _l("Institution settings"),
    "assessments": _l("Self-assessment"), "followups": _l("Follow-up"), "referrers": _l("Referrer"),
}
#: the fields whose stored values are codes, and the table of their labels
CODE_LABELS = {
    "sector": SECTOR_LABELS, "stage": STAGE_LABELS, "region": REGION_LABELS, "role": filters.ROLE_LABELS,
    "gender": forms_clients.GENDER_LABELS, "education_level": forms_clients.EDUCATION_LABELS,
    "employment_status": forms_clients.EMPLOYMENT_LABELS, "legal_form": forms_clients.LEGAL_FORM_LABELS,
    "preferred_language": forms_clients.LANGUAGE_LABELS, "method": forms_clients.METHOD_LABELS,
    "purpose_category": forms_loans.PURPOSE_LABELS, "state": filters.OFFER_STATE_LABELS,
    "decline_reason": filters.REASON_LABELS,
}
#: codes whose meaning depends on the kind of record (a consent's kind is not a booking's)
RECORD_CODE_LABELS = {
    ("clients", "status"): forms_clients.STATUS_LABELS, ("loans", "status"): forms_loans.STATUS_LABELS,
    ("consents", "kind"): forms_clients.CONSENT_LABELS, ("loan_ledger", "kind"): forms_loans.LEDGER_LABELS,
}
SECRET = _l("(secret, not recorded)")
ERASED = _l("(erased personal data)")
UNREADABLE = _l("(personal data, unreadable without the data key it was written with)")
_DECIMAL = re.compile(r"-?\d+\.\d+")
YES, NO = _l("yes"), _l("no")


@lru_cache(maxsize=1)
def _form_labels() -> dict[str, object]:
    """Field name → label, from every form class of the web layer (the first form wins)."""
    found: dict[str, object] = {}
    for module in (forms_clients, forms_loans, forms):
        for value in vars(module).values():
            if isinstance(value, type) and issubclass(value, FlaskForm):
                for name in dir(value):
                    field = getattr(value, name, None)
                    if isinstance(field, UnboundField) and field.args and name not in found:
                        found[name] = field.args[0] if field.args[0] else field.kwargs.get("label")
    return found


def record_label(record_type: str) -> str:
    return str(RECORD_LABELS.get(record_type, record_type.replace("_", " ")))


def field_label(key: str) -> str:
    label = _form_labels().get(key)
    return str(label) if label else key.replace("_", " ")


def value_text(record_type: str, key: str, value) -> str:
    """One recorded value as a person reads it."""
    if value is None or value == "":
        return "–"
    if value == "(secret)":
        return str(SECRET)
    if value == "(erased)":  # core.services.audit.ERASED: the person's key was destroyed
        return str(ERASED)
    if value == "(unreadable)":  # core.services.audit.UNREADABLE
        return str(UNREADABLE)
    if isinstance(value, bool):
        return str(YES if value else NO)
    if isinstance(value, list):
        return ", ".join(value_text(record_type, key, item) for item in value)
    if isinstance(value, dict):
        return "; ".join(f"{field_label(k)}: {value_text(record_type, k, v)}" for k, v in value.items())
    table = RECORD_CODE_LABELS.get((record_type, key), CODE_LABELS.get(key))
    if table is not None and str(value) in table:
        return str(table[str(value)])
    if isinstance(value, str):
        return _date_or_text(value)
    if isinstance(value, (int, float, Decimal)):
        number = Decimal(str(value))
        return formatting.number(number, 0 if number == number.to_integral_value() else 2)
    return str(value)


def _date_or_text(value: str) -> str:
    try:
        if len(value) == 10:
            return format_date(date.fromisoformat(value), "medium")
        if len(value) > 18 and value[10] == "T":
            return format_datetime(datetime.fromisoformat(value), "short")
    except ValueError:
        pass
    if _DECIMAL.fullmatch(value):  # amounts and rates are stored as decimal strings ("150.00")
        return formatting.number(Decimal(value), 2)
    return value


def changes_text(entry) -> list[tuple[str, str]]:
    """(field label, what happened) pairs of an entry: ``old → new`` for an update."""
    pairs = []
    for key, value in audit.opened(entry).items():
        if entry.action == "update" and isinstance(value, list) and len(value) == 2:
            text = f"{value_text(entry.record_type, key, value[0])} → {value_text(entry.record_type, key, value[1])}"
        else:
            text = value_text(entry.record_type, key, value)
        pairs.append((field_label(key), text))
    return pairs
