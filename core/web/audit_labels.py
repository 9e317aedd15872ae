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
from core.web import filters, forms, forms_clients, forms_loans
from core.labels import REGION_LABELS, SECTOR_LABELS, STAGE_LABELS

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
#: fields that no form labels (timestamps, links, what the system records itself)
FIELD_LABELS = {
    "accepted_at": _l("Accepted at"), "active": _l("Account active"),
    "amount_requested": _l("Amount requested"), "annual_rate": _l("Annual interest rate"),
    "answer": _l("Answer"), "answered_at": _l("Answered at"), "answered_by": _l("Answered by"),
    "answered_on": _l("Answered on"), "applicant_birth_date": _l("Applicant's date of birth"),
    "applicant_email": _l("Applicant's e-mail"), "applicant_first_name": _l("Applicant's first name"),
    "applicant_last_name": _l("Applicant's last name"), "applicant_phone": _l("Applicant's phone"),
    "assessment_id": _l("Self-assessment"), "attended": _l("Attended"), "author_id": _l("Author"),
    "author_name": _l("Author"), "automatic_evidence": _l("Automatic evidence"),
    "award_date": _l("Award date"), "bank_credit": _l("Bank credit"),
    "bank_credit_kind": _l("Kind of bank credit"), "base_on": _l("Based on"), "booked_on": _l("Booked on"),
    "catalogue_id": _l("Catalogue"), "clause_id": _l("Clause"), "client_id": _l("Client"),
    "close_reason": _l("Reason for closing"), "closed_at": _l("Closed at"), "closed_on": _l("Closed on"),
    "collective_debt_settlement": _l("Collective debt settlement"), "comment": _l("Comment"),
    "consent_given_at": _l("Consent given at"), "consent_method": _l("How the consent was given"),
    "consent_scope": _l("What the applicant consented to"), "content_type": _l("Type of file"),
    "counterparty": _l("Counterparty"), "created_at": _l("Created at"), "created_by_id": _l("Created by"),
    "deadline": _l("Deadline"), "decided_at": _l("Decided at"), "decided_by_id": _l("Decided by"),
    "decision_note": _l("Note on the decision"), "decline_reason": _l("Reason for declining"),
    "disbursed_at": _l("Disbursed at"), "done": _l("Done"), "done_at": _l("Done at"),
    "drafted_by_id": _l("Drafted by"), "enterprise_started_on": _l("Enterprise started on"),
    "erased_at": _l("Erased at"), "evidence_text": _l("Evidence"), "expires_at": _l("Expires at"),
    "external_reference": _l("Referrer's reference"), "extra": _l("Other details"), "file_id": _l("File"),
    "filename": _l("File name"), "first_contact_at": _l("First contact at"),
    "frequency_months": _l("Every how many months"), "from_federation": _l("From the federation"),
    "grace_kind": _l("Kind of grace period"), "hint": _l("Hint"), "imported_at": _l("Imported at"),
    "intake_age_group": _l("Age group at intake"),
    "intake_born_abroad": _l("Born outside Belgium (at intake)"),
    "intake_disability": _l("With a disability (at intake)"), "intake_gender": _l("Gender at intake"),
    "intake_job_seeker": _l("Job seeker at intake"), "intake_low_educated": _l("Low-educated (at intake)"),
    "invite_expires_at": _l("Invitation expires at"), "invite_token_hash": _l("Invitation link"),
    "invited_at": _l("Invited at"), "jobs_fte": _l("Jobs created (full-time equivalents)"),
    "key": _l("Field"), "language": _l("Language"), "larger_provider": _l("Larger provider"),
    "late_since": _l("Late since"), "ledger_entry_id": _l("Booking"), "line_number": _l("Line number"),
    "lines_total": _l("Number of lines"), "link_code": _l("Link code"), "linked_to_id": _l("Linked to"),
    "links": _l("Links"), "loan_id": _l("Loan"), "loan_ref": _l("Loan reference"), "months": _l("Months"),
    "national_number_hash": _l("National number"),
    "national_number_last": _l("National number (last digits)"),
    "national_number_secret": _l("National number"),
    "no_match_reasons": _l("Why no institution could take it"), "notices": _l("Notices"),
    "occurrence": _l("Occurrence"), "offered_at": _l("Offered at"), "opened_at": _l("Opened at"),
    "original_name": _l("File name"), "outcome_reason": _l("Reason for the outcome"),
    "password_hash": _l("Password"), "payment_reference": _l("Structured payment reference"),
    "period_end": _l("End of the period"), "period_start": _l("Start of the period"),
    "prepayment_indemnity_months": _l("Early-repayment indemnity (months of interest)"),
    "prepayment_indemnity_percent": _l("Early-repayment indemnity (%)"),
    "progress_report_due": _l("Progress report due"), "province": _l("Province"),
    "questionnaire": _l("Questionnaire"), "received_at": _l("Received at"),
    "recorded_by_id": _l("Recorded by"), "reference": _l("Reference"), "referral_id": _l("Referral"),
    "referrer_id": _l("Referrer"), "refusal_decided_on": _l("Refused on"),
    "refusal_reasons": _l("Reasons for the refusal"), "region": _l("Region"),
    "reminded_at": _l("Reminded at"), "reminders": _l("Reminders"),
    "repayment_method": _l("Repayment method"), "resolved_at": _l("Resolved at"),
    "resolved_by_id": _l("Resolved by"), "revenue_band": _l("Revenue band"),
    "reverses_id": _l("Reverses booking"), "revoked_at": _l("Revoked at"),
    "schedule_version": _l("Schedule version"), "session_id": _l("Coaching session"),
    "sha256": _l("Fingerprint of the file"), "situation": _l("Situation"), "size": _l("Size"),
    "source": _l("Source"), "state": _l("State"), "stopped_reason": _l("Reason for stopping"),
    "stored_name": _l("Stored file"), "submitted_at": _l("Submitted at"), "titles": _l("Titles"),
    "token_expires_at": _l("Link expires at"), "token_hash": _l("Token"),
    "totp_enabled_at": _l("Second factor set up at"), "totp_must_enrol": _l("Must set up a second factor"),
    "totp_secret": _l("Second factor"), "track_id": _l("Coaching track"),
    "undischarged_bankruptcy": _l("Undischarged bankruptcy"), "upfront_fee": _l("Upfront fee"),
    "uploaded_at": _l("Uploaded at"), "uploaded_by_id": _l("Uploaded by"),
    "valid_until": _l("Valid until"), "value": _l("Value"), "value_date": _l("Value date"),
    "version": _l("Version"), "webhook_secret": _l("Webhook secret"), "webhook_url": _l("Webhook address"),
    "withdrawn_on": _l("Withdrawn on"), "year": _l("Year"),
}
#: bookkeeping the trail does not show (the export keeps it in its JSON column)
HIDDEN_FIELDS = frozenset({"institution_id", "applicant_match_key"})
SECRET = _l("(secret, not recorded)")
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
    """A recorded field's label: the form's, else this module's, else the name made readable
    (a plugin's own field; tests/test_audit_readable.py checks every core column has a label)."""
    label = _form_labels().get(key) or FIELD_LABELS.get(key)
    return str(label) if label else key.replace("_", " ")


def value_text(record_type: str, key: str, value) -> str:
    """One recorded value as a person reads it."""
    if value is None or value == "":
        return "–"
    if value == "(secret)":
        return str(SECRET)
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
    for key, value in (entry.changes or {}).items():
        if key in HIDDEN_FIELDS:
            continue
        if entry.action == "update" and isinstance(value, list) and len(value) == 2:
            text = f"{value_text(entry.record_type, key, value[0])} → {value_text(entry.record_type, key, value[1])}"
        else:
            text = value_text(entry.record_type, key, value)
        pairs.append((field_label(key), text))
    return pairs
