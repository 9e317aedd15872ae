"""The advisers' portal: a bank's or public financier's adviser refers an applicant through a form.

The form carries the API's fields; its body is built and validated by the API's rules
(``core.services.referral_forms`` with ``core.api.schemas.ReferralIn``) and stored by the service the
API calls (``referrals.receive_once``, channel ``portal``, one idempotency key per form shown, so a
double click stores one referral). The consent is the one the applicant signed on the printable
consent form; the adviser attests it. An adviser sees their organisation's referrals exactly as
the referrer API presents them (``referrals.public_view``): status, institution, stages, reason
codes; never an institution's notes nor anything else of the application.
"""
from __future__ import annotations

import hashlib
import json
from datetime import date, datetime, time, timezone

from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from core import clock
from core.extensions import db
from core.models import ROLE_REFERRER, Institution, User
from core.models.referrals import Referral, Referrer
from core.models.types import utcnow
from core.services import referral_forms, referrals
from core.services.errors import NotFound, ValidationFailed

PAGE_SIZE = 50
CONSENT_METHODS = ("written", "electronic", "verbal_recorded")
#: what the applicant consents to on the printed form (the API's scopes); the survey is optional
REQUIRED_SCOPES = ("share_with_mfi", "contact")

MESSAGES = {
    **referral_forms.FIELD_MESSAGES,
    "external_reference": _l("Give your own reference for this file (1 to 64 characters)."),
    "first_name": _l("Enter the applicant's first name."),
    "last_name": _l("Enter the applicant's last name."),
    "birth_date": _l("The applicant must be between 18 and 100 years old."),
    "stage": _l("Choose where the project stands."),
    "consent_given_on": _l("This date cannot be in the future."),
    "consent_method": _l("Choose how the applicant consented."),
}
NO_ATTESTATION = _l("Tick this box: a referral is sent only with the applicant's consent, attested by you.")
ALREADY_SENT = _l("This form was already sent with other data. Open a new form to refer another applicant.")


def referrer_of(user: User) -> Referrer:
    """The active referrer organisation of a portal user (else NotFound)."""
    if user.role != ROLE_REFERRER or user.referrer_id is None:
        raise NotFound()
    referrer = db.session.get(Referrer, user.referrer_id)
    if referrer is None or not referrer.active:
        raise NotFound()
    return referrer


def _given_at(given_on) -> datetime | date | None:
    """The consent's moment: the day the applicant signed (noon UTC, never later than now)."""
    if not isinstance(given_on, date):
        return None
    return min(datetime.combine(given_on, time(12, 0), timezone.utc), utcnow())


def payload(fields: dict) -> dict:
    """The API's body (``ReferralIn``) of the portal form's fields."""
    scope = list(REQUIRED_SCOPES) + (["impact_survey"] if fields.get("impact_survey") else [])
    consent = {"scope": scope}
    if _given_at(fields.get("consent_given_on")) is not None:
        consent["given_at"] = _given_at(fields.get("consent_given_on"))
    if referral_forms.filled(fields.get("consent_method")):
        consent["method"] = fields.get("consent_method")
    return referral_forms.body(fields, external_reference=fields.get("external_reference") or "",
                               consent=consent)


def validate(fields: dict):
    """The portal form's fields as a ``ReferralIn``, or ``ValidationFailed`` naming every wrong
    field: the API's rules (at least an e-mail address or a phone number, among others), plus the
    adviser's attestation of the applicant's consent."""
    errors = {}
    if not fields.get("attestation"):
        errors["attestation"] = NO_ATTESTATION
    if not referral_forms.filled(fields.get("external_reference")):
        errors["external_reference"] = referral_forms.REQUIRED
    given_on = fields.get("consent_given_on")
    if isinstance(given_on, date) and given_on > clock.today():
        errors["consent_given_on"] = MESSAGES["consent_given_on"]
    return referral_forms.validate(payload(fields), MESSAGES, errors)


def refer(user: User, fields: dict, *, form_key: str) -> dict:
    """Refer an applicant for the adviser's organisation: validate, store, route (one transaction).

    Returns the referral as the referrer API shows it. ``form_key`` identifies the form shown: the
    same form sent twice stores one referral (``referrals.IdempotencyConflict`` if its data changed).
    Wrong fields raise ``ValidationFailed`` and nothing is written."""
    referrer = referrer_of(user)
    data = validate(fields)
    body = data.model_dump(mode="json")
    digest = hashlib.sha256(json.dumps(body, sort_keys=True, separators=(",", ":")).encode()).hexdigest()
    key = f"portal:{user.id}:{(form_key or '')[:100]}"
    try:
        _status, answer = referrals.receive_once(referrer, data, key=key, request_hash=digest,
                                                 channel="portal")
    except referrals.IdempotencyConflict:
        raise ValidationFailed({"": ALREADY_SENT}) from None
    return answer


def _with_names(views: list[dict], language: str) -> list[dict]:
    """The institutions' names in the reader's language (the API gives them in English)."""
    slugs = {v["institution"]["slug"] for v in views if v.get("institution")}
    names = {row.slug: row.name(language) for row in db.session.scalars(
        select(Institution).where(Institution.slug.in_(slugs)))} if slugs else {}
    for view in views:
        if view.get("institution"):
            view["institution"] = {**view["institution"], "name": names.get(view["institution"]["slug"],
                                                                            view["institution"]["name"])}
    return views


def organisation_referrals(user: User, *, before_id: int | None = None, language: str = "en",
                           limit: int = PAGE_SIZE) -> tuple[list[dict], int | None]:
    """A page of the adviser's organisation's referrals (every channel), newest first, as the
    referrer API shows them; and the id to pass as ``before_id`` for the next page (or None)."""
    referrer = referrer_of(user)
    query = select(Referral).where(Referral.referrer_id == referrer.id)
    if before_id is not None:
        query = query.where(Referral.id < before_id)
    rows = list(db.session.scalars(query.order_by(Referral.id.desc()).limit(limit + 1)))
    more = rows[limit - 1].id if len(rows) > limit else None
    views = referrals.public_views(rows[:limit])
    for view, row in zip(views, rows[:limit]):
        view["channel"] = row.channel
    return _with_names(views, language), more


def organisation_referral(user: User, referral_id: int, *, language: str = "en") -> dict:
    """One referral of the adviser's organisation as the referrer API shows it (another
    organisation's id: NotFound)."""
    referral = referrals.for_referrer(referrer_of(user), referral_id)
    view = referrals.public_view(referral)
    view["channel"] = referral.channel
    return _with_names([view], language)[0]
