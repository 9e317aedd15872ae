"""Self-referrals: a refused entrepreneur asks for microcredit on ``/refer`` themselves.

The form's fields are the API's (``core.api.schemas.ReferralIn``), validated the same way
(``core.services.referral_forms``, shared with the advisers' portal), with
the consent given on the page. Nothing enters the registry before the entrepreneur confirms their
e-mail address: the validated fields wait in ``SelfReferralRequest`` and a one-time link (its
token stored as SHA-256) is mailed. Confirming creates the referral through the API's service
(``referrals.store``), routes it, and marks the request used, in one transaction.

A referrer's own link ``/refer/<code>`` counts the referral for that referrer (channel ``link``);
``/refer`` itself files it under the built-in "Self-referral" referrer (kind ``self``, channel
``self``). Requests are throttled per e-mail address in the database (``MAX_PER_EMAIL`` an hour):
a throttled request stores and sends nothing and answers like any other, so the page never tells
whether someone asked with that address.
"""
from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta

from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy import delete, func, select, update
from sqlalchemy.exc import IntegrityError

from core.config import SELF_REFERRAL_LANGUAGES
from core.extensions import db
from core.models.referrals import Referral, Referrer
from core.models.self_referrals import SelfReferralRequest
from core.models.types import utcnow
from core.services import audit, outbox, referral_forms, referrals
from core.services.errors import NotFound, ValidationFailed
from core.services.referral_forms import REQUIRED

SELF_KIND = "self"
SELF_REFERRER_NAME = "Self-referral"
MAX_PER_EMAIL = 3
THROTTLE_WINDOW = timedelta(hours=1)
PURGE_AFTER = timedelta(days=7)
LINK_CODE_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"  # no 0/o, 1/l/i: read off a letter
LINK_CODE_LENGTH = 10

INVALID = {
    **referral_forms.FIELD_MESSAGES,
    "first_name": _l("Enter your first name."),
    "last_name": _l("Enter your last name."),
    "birth_date": _l("You must be between 18 and 100 years old."),
    "stage": _l("Choose where your project stands."),
}
NO_CONSENT = _l("Without your consent we cannot pass your request on.")


class ConfirmRefused(Exception):
    """A confirmation link that cannot be used: ``reason`` is invalid, expired or used."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _hours() -> int:
    return int(current_app.config.get("MICROFIN_SELF_REFERRAL_HOURS", 48))


# --- referrers and their links -----------------------------------------------------------------

def self_referrer() -> Referrer:
    """The built-in "Self-referral" referrer (kind ``self``, no token), created on first use.

    Operators cannot add a referrer of kind ``self``; if one took the name, the built-in one is
    called "Self-referral (built-in)"."""
    for name in (SELF_REFERRER_NAME, f"{SELF_REFERRER_NAME} (built-in)"):
        found = db.session.scalar(select(Referrer).where(Referrer.kind == SELF_KIND).order_by(Referrer.id).limit(1))
        if found is not None:
            return found
        try:
            with db.session.begin_nested():
                found = Referrer(name=name, kind=SELF_KIND)
                db.session.add(found)
            return found
        except IntegrityError:  # the name is taken, or created at this moment by another request
            continue
    raise RuntimeError("no built-in self-referral referrer could be created")


def by_link_code(code: str) -> Referrer:
    """The active referrer whose self-referral link carries ``code`` (else NotFound)."""
    referrer = db.session.scalar(select(Referrer).where(Referrer.link_code == (code or "").lower()[:24]))
    if referrer is None or not referrer.active or referrer.kind == SELF_KIND:
        raise NotFound()
    return referrer


def _new_code() -> str:
    return "".join(secrets.choice(LINK_CODE_ALPHABET) for _ in range(LINK_CODE_LENGTH))


def ensure_link_code(referrer: Referrer) -> str:
    """The referrer's link code, given one (random, unique, easy to type) if it has none; commits."""
    while referrer.link_code is None:
        code = _new_code()
        if db.session.scalar(select(Referrer.id).where(Referrer.link_code == code)) is None:
            referrer.link_code = code
    db.session.commit()
    return referrer.link_code


def link_url(referrer: Referrer, language: str | None = None) -> str:
    """The absolute address of the referrer's self-referral link (under ``MICROFIN_BASE_URL``),
    opening in ``language`` when given (else in the reader's browser language)."""
    extra = {"lang": language} if language in SELF_REFERRAL_LANGUAGES else {}
    return outbox.external_url("refer.form", code=ensure_link_code(referrer), **extra)


def qr_code(url: str, image_format: str) -> bytes:
    """A QR code of ``url`` to print on a refusal letter: ``svg`` (vector) or ``png``."""
    import io

    import qrcode

    if image_format == "svg":
        from qrcode.image.svg import SvgPathImage

        return qrcode.make(url, image_factory=SvgPathImage, box_size=10, border=4).to_string()
    if image_format == "png":
        from qrcode.image.pil import PilImage

        buffer = io.BytesIO()
        qrcode.make(url, image_factory=PilImage, box_size=10, border=4).save(buffer)
        return buffer.getvalue()
    raise ValueError(f"unknown QR image format {image_format!r}: svg or png")


# --- asking ----------------------------------------------------------------------------------

def _body(fields: dict, given_at) -> dict:
    """The ``ReferralIn`` body of the form's fields, with the consent given on the page."""
    scope = ["share_with_mfi", "contact"] + (["impact_survey"] if fields.get("impact_survey") else [])
    return referral_forms.body(fields, external_reference="pending",
                               consent={"given_at": given_at, "method": "electronic", "scope": scope})


def validate(fields: dict):
    """The form's fields as a ``ReferralIn`` (consent given now), or ``ValidationFailed`` naming
    each wrong field. The e-mail address is required here (it is confirmed before anything else)."""
    errors = {}
    if not fields.get("consent"):
        errors["consent"] = NO_CONSENT
    if not referral_forms.filled(fields.get("email")):
        errors["email"] = REQUIRED
    try:
        return referral_forms.validate(_body(fields, utcnow()), INVALID, errors)
    except ValidationFailed as failed:
        if failed.errors.get("phone") is referral_forms.CONTACT_MEANS:
            failed.errors.pop("phone")  # the e-mail address is what is missing here
        raise


def _throttled(email: str) -> bool:
    since = utcnow() - THROTTLE_WINDOW
    asked = db.session.scalar(select(func.count()).select_from(SelfReferralRequest).where(
        SelfReferralRequest.email == email, SelfReferralRequest.created_at >= since))
    return asked >= MAX_PER_EMAIL


def ask(fields: dict, *, language: str, referrer: Referrer | None = None) -> SelfReferralRequest | None:
    """Validate a self-referral form and mail the confirmation link; store nothing else.

    Wrong fields raise ``ValidationFailed`` (nothing written). A throttled address (more than
    ``MAX_PER_EMAIL`` requests in an hour) returns None, storing and sending nothing. Otherwise the
    pending request and its mail are committed together."""
    data = validate(fields)
    email = data.applicant.email.strip().lower()
    if _throttled(email):
        return None
    token = secrets.token_urlsafe(32)
    payload = data.model_dump(mode="json", exclude={"external_reference"})
    pending = SelfReferralRequest(token_hash=_hash(token), email=email, language=language,
                                  referrer_id=referrer.id if referrer is not None else None, payload=payload,
                                  created_at=utcnow(), expires_at=utcnow() + timedelta(hours=_hours()))
    db.session.add(pending)
    outbox.enqueue(to=data.applicant.email, template="self_referral_confirm", locale=language,
                   context={"first_name": data.applicant.first_name, "hours": _hours(),
                            "referrer_name": referrer.name if referrer is not None else None,
                            "confirm_url": outbox.external_url("refer.confirm", token=token, lang=language)},
                   kind="self_referral", languages=SELF_REFERRAL_LANGUAGES)
    db.session.commit()
    return pending


# --- confirming ------------------------------------------------------------------------------

def check_token(token: str) -> SelfReferralRequest:
    """The pending request of a confirmation link, or ``ConfirmRefused`` saying why not."""
    found = db.session.scalar(select(SelfReferralRequest).where(
        SelfReferralRequest.token_hash == _hash(token or "")))
    if found is None:
        raise ConfirmRefused("invalid")
    if found.confirmed_at is not None:
        raise ConfirmRefused("used")
    if found.expires_at <= utcnow():
        raise ConfirmRefused("expired")
    return found


def confirm(token: str) -> Referral:
    """Confirm the address: create the referral (channel ``link`` through a referrer's link, else
    ``self``), route it, and mark the request used, in one transaction.

    The request is claimed with one conditional UPDATE, so of two confirmations at once one
    creates the referral and the other gets ``ConfirmRefused("used")``."""
    from core.api.schemas import ReferralIn

    pending = check_token(token)
    claimed = db.session.execute(update(SelfReferralRequest).where(
        SelfReferralRequest.id == pending.id, SelfReferralRequest.confirmed_at.is_(None))
        .values(confirmed_at=utcnow()).execution_options(synchronize_session=False))
    if claimed.rowcount != 1:
        db.session.rollback()
        raise ConfirmRefused("used")
    referrer = db.session.get(Referrer, pending.referrer_id) if pending.referrer_id else self_referrer()
    channel = "link" if pending.referrer_id else "self"
    data = ReferralIn.model_validate({**pending.payload, "external_reference": f"{channel}-{pending.id}"})
    with audit.acting_as("self-referral"):
        try:
            referral = referrals.store(referrer, data, channel=channel)
        except ValidationFailed:  # the reference was taken: the referrer used "link-<id>" itself
            db.session.rollback()
            raise ConfirmRefused("invalid") from None
        db.session.execute(update(SelfReferralRequest).where(SelfReferralRequest.id == pending.id)
                           .values(referral_id=referral.id, payload={})
                           .execution_options(synchronize_session=False))
        db.session.commit()
    referrals.announce(referral)
    return referral


def purge_stale() -> int:
    """Delete requests whose link expired (or was used) more than ``PURGE_AFTER`` ago: what was
    never confirmed leaves no personal data behind (a daily chore)."""
    cutoff = utcnow() - PURGE_AFTER
    result = db.session.execute(delete(SelfReferralRequest).where(SelfReferralRequest.expires_at < cutoff))
    db.session.commit()
    return result.rowcount


def outcome(referral: Referral, language: str) -> dict:
    """What the entrepreneur is told after confirming: the status and the institution's name."""
    from core.models import Institution

    institution = db.session.get(Institution, referral.institution_id) if referral.institution_id else None
    return {"status": referral.status, "institution": institution.name(language) if institution else None}
