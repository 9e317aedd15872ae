"""Forgotten passwords: a one-time, expiring link sent by mail.

The token is signed (itsdangerous) with the app's secret and carries the user id and a fingerprint
of the current password hash. No token is stored: once the password changes, the fingerprint no
longer matches and every earlier link is dead ("used"); after ``MICROFIN_PASSWORD_RESET_MINUTES``
(default 60) it has expired. Requests are throttled per address asked for and per client address,
and the answer never says whether the address has an account.
"""
from __future__ import annotations

import hashlib
from datetime import timedelta

from flask import current_app
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from sqlalchemy import func, select

from core.extensions import db
from core.models import LoginAttempt, User
from core.models.types import utcnow
from core.services import accounts, outbox, user_sessions
from core.tenancy import all_institutions

SALT = "microfin-password-reset"
MAX_PER_EMAIL = 3
MAX_PER_ADDRESS = 20


class ResetRefused(Exception):
    """A reset link that cannot be used: ``reason`` is invalid, expired, used or disabled."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


def _serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt=SALT)


def _fingerprint(user: User) -> str:
    return hashlib.sha256((user.password_hash or "no-password").encode()).hexdigest()[:20]


def make_token(user: User) -> str:
    """A reset token for ``user``, valid until used or expired."""
    return _serializer().dumps([user.id, _fingerprint(user)])


def _minutes() -> int:
    return int(current_app.config.get("MICROFIN_PASSWORD_RESET_MINUTES", 60))


def _throttled(email: str, address: str) -> bool:
    since = utcnow() - timedelta(minutes=_minutes())
    per_email = db.session.scalar(select(func.count()).select_from(LoginAttempt).where(
        LoginAttempt.email == f"reset:{email}", LoginAttempt.at >= since))
    per_address = db.session.scalar(select(func.count()).select_from(LoginAttempt).where(
        LoginAttempt.email.like("reset:%"), LoginAttempt.address == address, LoginAttempt.at >= since))
    return per_email >= MAX_PER_EMAIL or per_address >= MAX_PER_ADDRESS


def request_reset(email: str, address: str) -> None:
    """Mail a reset link when ``email`` belongs to an active account; the same outcome otherwise.

    Each request is recorded (as a login attempt ``reset:<email>``) to throttle them; a throttled
    request sends nothing. One transaction: the record and the mail are committed together.
    """
    email = accounts.normalise_email(email or "")[:240]
    throttled = _throttled(email, address)
    db.session.add(LoginAttempt(email=f"reset:{email}"[:254], address=address[:64], succeeded=False))
    if not throttled:
        with all_institutions("a password reset is asked for before sign-in"):
            user = db.session.scalar(select(User).where(User.email == email))
        if user is not None and user.active and user.password_hash:
            outbox.enqueue(to=user.email, template="password_reset", locale=user.preferred_language,
                           context={"user_name": user.name, "hours": max(_minutes() // 60, 1),
                                    "reset_url": outbox.external_url("password.reset_password",
                                                                     token=make_token(user))},
                           institution_id=user.institution_id, kind="password_reset")
    db.session.commit()


def check_token(token: str) -> User:
    """The user a reset token may set the password of, or ``ResetRefused`` saying why not."""
    try:
        user_id, fingerprint = _serializer().loads(token, max_age=_minutes() * 60)
    except SignatureExpired:
        raise ResetRefused("expired") from None
    except (BadSignature, ValueError, TypeError):
        raise ResetRefused("invalid") from None
    with all_institutions("a password reset link is opened before sign-in"):
        user = db.session.get(User, user_id)
    if user is None:
        raise ResetRefused("invalid")
    if not user.active:
        raise ResetRefused("disabled")
    if fingerprint != _fingerprint(user):
        raise ResetRefused("used")
    return user


def reset_password(token: str, password: str) -> User:
    """Set a new password through a reset link (which then stops working) and tell the user;
    every session of the user is revoked (whoever knew the old password is signed out)."""
    user = check_token(token)
    accounts._check_password(password, user)  # the same rule as everywhere
    with all_institutions("a password reset link is used before sign-in"):
        user.password_hash = accounts.hash_password(password)
        user_sessions.revoke_all(user.id, "password-reset", commit=False)
        notify_password_changed(user)
        db.session.commit()
    return user


def notify_password_changed(user: User) -> None:
    """Queue the mail telling ``user`` their password changed (in the caller's transaction)."""
    outbox.enqueue(to=user.email, template="password_changed", locale=user.preferred_language,
                   context={"user_name": user.name, "forgot_url": outbox.external_url("password.forgot_password")},
                   institution_id=user.institution_id, kind="password_changed")
