"""The second factor: a TOTP code (RFC 6238, any authenticator app) or a single-use recovery code.

Required for admins, auditors and the operator when ``MICROFIN_REQUIRE_SECOND_FACTOR`` is on (the
default): they enrol at their next sign-in. Optional for other roles. The secret is stored
encrypted with a key derived from ``MICROFIN_DATA_KEY``; recovery codes only as SHA-256 hashes.
A code is accepted for the current 30-second step or the one either side, and never for a step
at or before the last one accepted (a code seen over a shoulder cannot be replayed). Wrong codes
are throttled per user like passwords (``MICROFIN_LOGIN_MAX_FAILURES`` per window, lockouts
doubling). Enrolling, disabling, new recovery codes and an admin's reset are audited and mailed
to the user.
"""
from __future__ import annotations

import hashlib
import hmac
import secrets
import time

import pyotp
from flask import current_app
from flask_babel import lazy_gettext as _l
from flask_babel import lazy_ngettext
from sqlalchemy import delete, func, or_, select, update

from core.extensions import db
from core.models import FEDERATION_ROLES, ROLE_ADMIN, ROLE_AUDITOR, ROLE_OPERATOR, RecoveryCode, User
from core.models.types import utcnow
from core.services import accounts, audit, data_keys, outbox
from core.services.errors import NotFound, ValidationFailed
from core import tenancy
from core.tenancy import all_institutions

REQUIRED_ROLES = frozenset({ROLE_ADMIN, ROLE_AUDITOR, ROLE_OPERATOR})
ISSUER = "Microfin CRM"
STEP_SECONDS = 30
RECOVERY_CODE_COUNT = 10
_RECOVERY_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"  # no 0/o, 1/l/i to misread


class CodeRefused(Exception):
    """A code was not accepted. ``reason``: "invalid", "replayed" or "throttled"."""

    def __init__(self, reason: str, retry_minutes: int = 0):
        super().__init__(reason)
        self.reason = reason
        self.retry_minutes = retry_minutes


# --- state ---------------------------------------------------------------------------------

def enrolled(user: User) -> bool:
    """True when ``user`` has a confirmed second factor."""
    return bool(user.totp_secret and user.totp_enabled_at)


def role_requires(user: User) -> bool:
    """True when ``user``'s role must have a second factor on this server."""
    return bool(current_app.config.get("MICROFIN_REQUIRE_SECOND_FACTOR", True)) and user.role in REQUIRED_ROLES


def must_enrol(user: User) -> bool:
    """True when ``user`` has to enrol before using the app (their role, or an admin's reset)."""
    return not enrolled(user) and (role_requires(user) or bool(user.totp_must_enrol))


def may_disable(user: User) -> bool:
    """Only users whose role does not require a second factor may switch it off."""
    return enrolled(user) and not role_requires(user)


def recovery_codes_left(user: User) -> int:
    return db.session.scalar(select(func.count()).select_from(RecoveryCode)
                             .where(RecoveryCode.user_id == user.id, RecoveryCode.used_at.is_(None))) or 0


# --- secrets and codes ---------------------------------------------------------------------

def new_secret() -> str:
    """A fresh random base32 secret (160 bits), not stored until a code confirms it."""
    return pyotp.random_base32(32)


def seal(secret: str) -> str:
    """``secret`` encrypted with the data key (for the database, or a session during enrolment)."""
    return data_keys.seal(data_keys.SECOND_FACTOR, secret)


def unseal(token: str) -> str:
    return data_keys.unseal(data_keys.SECOND_FACTOR, token)


def provisioning_uri(user: User, secret: str) -> str:
    """The ``otpauth://`` link an authenticator app reads from the QR code."""
    return pyotp.TOTP(secret).provisioning_uri(name=user.email, issuer_name=ISSUER)


def qr_svg(uri: str) -> str:
    """The QR code of ``uri`` as inline SVG."""
    import qrcode
    from qrcode.image.svg import SvgPathImage

    svg = qrcode.make(uri, image_factory=SvgPathImage, box_size=8, border=2).to_string()
    text = svg.decode() if isinstance(svg, bytes) else svg
    return text[text.index("<svg"):] if "<svg" in text else text


def _digits(code: str) -> str:
    return "".join(ch for ch in (code or "") if not ch.isspace())


def _matching_step(secret: str, code: str, now: float | None = None) -> int | None:
    """The time step (current or one either side) whose code is ``code``, or None."""
    code = _digits(code)
    if len(code) != 6 or not code.isdigit():
        return None
    totp = pyotp.TOTP(secret)
    step = int((time.time() if now is None else now) // STEP_SECONDS)
    for candidate in (step, step - 1, step + 1):
        if hmac.compare_digest(totp.at(candidate * STEP_SECONDS), code):
            return candidate
    return None


def _recovery_hash(code: str) -> str:
    normal = "".join(ch for ch in (code or "").lower() if ch.isalnum())
    return hashlib.sha256(normal.encode()).hexdigest()


def _new_recovery_codes(user: User) -> list[str]:
    """Replace ``user``'s recovery codes by new ones; returns them (shown once, never stored)."""
    db.session.execute(delete(RecoveryCode).where(RecoveryCode.user_id == user.id))
    codes = []
    for _ in range(RECOVERY_CODE_COUNT):
        raw = "".join(secrets.choice(_RECOVERY_ALPHABET) for _ in range(10))
        code = f"{raw[:5]}-{raw[5:]}"
        codes.append(code)
        db.session.add(RecoveryCode(user_id=user.id, code_hash=_recovery_hash(code)))
    return codes


def _throttle_key(user: User) -> str:
    return f"second-factor:{user.id}"


def _notify(user: User, change: str) -> None:
    """Queue the mail telling ``user`` their second factor changed (caller's transaction)."""
    outbox.enqueue(to=user.email, template="second_factor_changed", locale=user.preferred_language,
                   context={"user_name": user.name, "change": change,
                            "account_url": outbox.external_url("account.index")},
                   institution_id=user.institution_id, kind="second_factor_changed")


def _audit(user: User, action: str, detail: dict | None = None) -> None:
    db.session.flush()
    audit.record(action, user, detail)


# --- enrolment -----------------------------------------------------------------------------

def confirm_enrolment(user: User, secret: str, code: str) -> list[str]:
    """Store ``secret`` as ``user``'s second factor once ``code`` proves their app has it.

    Returns the new recovery codes (to show once). Raises ``ValidationFailed`` on a wrong code
    (nothing is stored); audited and mailed to the user.
    """
    step = _matching_step(secret, code)
    if step is None:
        raise ValidationFailed({"code": _l("That code is not right. Check the time on your phone and type the 6 digits your app shows now.")})
    with all_institutions("enrolment may happen before the sign-in is finished"):
        user = db.session.get(User, user.id)
        user.totp_secret = seal(secret)
        user.totp_enabled_at = utcnow()
        user.totp_last_step = step
        user.totp_must_enrol = False
        codes = _new_recovery_codes(user)
        with audit.acting_as(user.email, user.id):
            _audit(user, "2fa-enrol")
        _notify(user, "enabled")
        db.session.commit()
    return codes


# --- checking a code -----------------------------------------------------------------------

def verify(user: User, code: str, address: str) -> str:
    """Check a sign-in's second factor: a TOTP code or an unused recovery code.

    Returns "totp" or "recovery". Raises ``CodeRefused``: "invalid" (nothing changes but the
    count of failures), "replayed" (a code of a step already used) or "throttled".
    """
    key = _throttle_key(user)
    until = accounts.reserve_attempt(key)
    if until is not None:
        minutes = max(1, -(-int((until - utcnow()).total_seconds()) // 60))
        raise CodeRefused("throttled", minutes)
    with all_institutions("the second factor is checked before the sign-in is finished"):
        user = db.session.get(User, user.id)
        db.session.refresh(user)
        kind = None
        digits = _digits(code)
        if enrolled(user) and len(digits) == 6 and digits.isdigit():
            step = _matching_step(unseal(user.totp_secret), digits)
            if step is not None:
                taken = db.session.execute(
                    update(User).where(User.id == user.id,
                                       or_(User.totp_last_step.is_(None), User.totp_last_step < step))
                    .values(totp_last_step=step)
                    .execution_options(synchronize_session=False)).rowcount
                if not taken:
                    accounts.after_attempt(key, False)
                    db.session.commit()
                    raise CodeRefused("replayed")
                kind = "totp"
        elif enrolled(user):
            used = db.session.execute(
                update(RecoveryCode).where(RecoveryCode.user_id == user.id,
                                           RecoveryCode.code_hash == _recovery_hash(code),
                                           RecoveryCode.used_at.is_(None))
                .values(used_at=utcnow()).execution_options(synchronize_session=False)).rowcount
            if used:
                kind = "recovery"
        accounts.after_attempt(key, kind is not None)
        if kind is None:
            from core.models import LoginAttempt

            db.session.add(LoginAttempt(email=user.email, address=address, succeeded=False))
            db.session.commit()
            raise CodeRefused("invalid")
        if kind == "recovery":
            with audit.acting_as(user.email, user.id):
                _audit(user, "2fa-recovery", {"left": recovery_codes_left(user)})
        db.session.commit()
    return kind


def check_current_code(user: User, code: str, address: str) -> None:
    """For a change on My account: ``code`` must be a valid code of ``user`` (same rules as at
    sign-in); raises ``ValidationFailed`` on the ``code`` field otherwise."""
    try:
        verify(user, code, address)
    except CodeRefused as refused:
        raise ValidationFailed({"code": refusal_message(refused)}) from None


def refusal_message(refused: CodeRefused):
    if refused.reason == "throttled":
        return lazy_ngettext("Too many wrong codes. Try again in %(num)d minute.",
                             "Too many wrong codes. Try again in %(num)d minutes.", refused.retry_minutes)
    if refused.reason == "replayed":
        return _l("That code was already used. Wait for the next code in your app.")
    return _l("That code is not right. Type the 6 digits your app shows now, or one of your recovery codes.")


# --- changes from My account, an admin, the operator ----------------------------------------

def regenerate_recovery_codes(user: User) -> list[str]:
    """New recovery codes for ``user`` (the old ones stop working); audited and mailed."""
    if not enrolled(user):
        raise ValidationFailed({"": _l("Set up the second factor first.")})
    codes = _new_recovery_codes(user)
    _audit(user, "2fa-new-codes")
    _notify(user, "recovery_codes")
    db.session.commit()
    return codes


def _clear(user: User) -> None:
    user.totp_secret = None
    user.totp_enabled_at = None
    user.totp_last_step = None
    db.session.execute(delete(RecoveryCode).where(RecoveryCode.user_id == user.id))


def disable(user: User) -> None:
    """Switch ``user``'s second factor off (roles that do not require one); audited and mailed."""
    if not may_disable(user):
        raise ValidationFailed({"": _l("Your role requires a second factor: it cannot be switched off.")})
    _clear(user)
    _audit(user, "2fa-disable")
    _notify(user, "disabled")
    db.session.commit()


def _reset(user: User, by_label: str) -> User:
    _clear(user)
    user.totp_must_enrol = True
    _audit(user, "2fa-reset", {"by": by_label})
    _notify(user, "reset")
    db.session.commit()
    return user


def reset(*, user_id: int, by: User) -> User:
    """Another admin of the institution (or the operator, for federation users) resets a user's
    second factor: it is removed and must be set up again at the next sign-in. Audited, mailed.

    Raises ``NotFound`` for a user the acting one may not manage (another institution's, an
    institution user for the operator), ``ValidationFailed`` for oneself.
    """
    if by.role == ROLE_OPERATOR:
        with all_institutions("the operator manages federation users"):
            user = db.session.scalar(select(User).where(User.id == user_id,
                                                        User.role.in_(FEDERATION_ROLES)))
    elif by.role == ROLE_ADMIN:
        user = tenancy.get(User, user_id)
    else:
        user = None
    if user is None:
        raise NotFound()
    if user.id == by.id:
        raise ValidationFailed({"": _l("Ask another administrator to reset your own second factor.")})
    if by.role == ROLE_OPERATOR:
        with all_institutions("the operator resets a federation user's second factor"):
            return _reset(user, by.email)
    return _reset(user, by.email)


def reset_by_email(email: str) -> User:
    """The operator's command line (``microfin users reset-2fa``): for a locked-out operator."""
    with all_institutions("the command line resets any user's second factor"):
        user = db.session.scalar(select(User).where(User.email == accounts.normalise_email(email)))
        if user is None:
            raise NotFound()
        with audit.acting_as("cli"):
            return _reset(user, "cli")


def federation_users() -> list[User]:
    """The auditors and operators, for the operator's page."""
    with all_institutions("the operator lists federation users"):
        return list(db.session.scalars(select(User).where(User.role.in_(FEDERATION_ROLES))
                                       .order_by(User.name)))

