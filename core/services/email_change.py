"""Changing one's e-mail address, confirmed from the new address; changing one's password.

``request_change`` checks the current password and the new address, stores a pending change
(``EmailChange``, the token only as its SHA-256) and, in the same transaction, queues a mail with
the confirmation link to the NEW address and a notice to the old one. Nothing changes on the
account until the link is used (``confirm``), within ``MICROFIN_EMAIL_CHANGE_HOURS`` (default 24);
the link works once. ``change_password`` sets a new password and mails the user about it.
"""
from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta

from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy import delete, func, select

from core.extensions import db
from core.models import EmailChange, User
from core.models.types import utcnow
from core.services import accounts, outbox
from core.services.errors import ValidationFailed
from core.services import user_sessions
from core.services.password_reset import notify_password_changed
from core.tenancy import all_institutions


class ChangeRefused(Exception):
    """A confirmation link that cannot be used: ``reason`` is invalid, expired, used or taken."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def hours() -> int:
    """How long a confirmation link works (``MICROFIN_EMAIL_CHANGE_HOURS``)."""
    return int(current_app.config.get("MICROFIN_EMAIL_CHANGE_HOURS", 24))


def _address_taken(email: str, user: User) -> bool:
    with all_institutions("e-mail addresses are unique across the sector"):
        return bool(db.session.scalar(select(func.count()).select_from(User)
                                      .where(User.email == email, User.id != user.id)))


def _check_current_password(user: User, password: str) -> None:
    if not accounts._verify(user, password or ""):
        raise ValidationFailed({"current_password": _l("This is not your current password.")})


def request_change(user: User, *, new_email: str, current_password: str) -> EmailChange:
    """Ask to move ``user`` to ``new_email``: the link goes to the new address, a notice to the old.

    ``ValidationFailed`` names the field (``new_email``, ``current_password``); nothing is
    written then. A newer request replaces a pending one."""
    email = accounts.normalise_email(new_email)
    errors = {}
    if not accounts.EMAIL_RE.match(email) or len(email) > 254:
        errors["new_email"] = _l("Enter a valid email address.")
    elif email == user.email:
        errors["new_email"] = _l("This is already your address.")
    elif _address_taken(email, user):
        errors["new_email"] = _l("A user with this email address already exists.")
    if not accounts._verify(user, current_password or ""):
        errors["current_password"] = _l("This is not your current password.")
    if errors:
        raise ValidationFailed(errors)
    token = secrets.token_urlsafe(32)
    db.session.execute(delete(EmailChange).where(EmailChange.user_id == user.id,
                                                 EmailChange.confirmed_at.is_(None)))
    change = EmailChange(user_id=user.id, old_email=user.email, new_email=email, token_hash=_hash(token),
                         requested_at=utcnow(), expires_at=utcnow() + timedelta(hours=hours()))
    db.session.add(change)
    context = {"user_name": user.name, "old_email": user.email, "new_email": email, "hours": hours()}
    outbox.enqueue(to=email, template="email_change_confirm", locale=user.preferred_language,
                   context={**context, "confirm_url": outbox.external_url("account.confirm_email", token=token)},
                   institution_id=user.institution_id, kind="email_change_confirm")
    outbox.enqueue(to=user.email, template="email_change_notice", locale=user.preferred_language,
                   context={**context, "forgot_url": outbox.external_url("password.forgot_password")},
                   institution_id=user.institution_id, kind="email_change_notice")
    db.session.commit()
    return change


def pending(user: User) -> EmailChange | None:
    """The user's change waiting for confirmation and not expired, if any."""
    return db.session.scalar(select(EmailChange).where(
        EmailChange.user_id == user.id, EmailChange.confirmed_at.is_(None), EmailChange.expires_at > utcnow())
        .order_by(EmailChange.id.desc()).limit(1))


def confirm(token: str) -> User:
    """Use a confirmation link: the account's address becomes the new one (``ChangeRefused`` else)."""
    change = db.session.scalar(select(EmailChange).where(EmailChange.token_hash == _hash(token or "")))
    if change is None:
        raise ChangeRefused("invalid")
    if change.confirmed_at is not None:
        raise ChangeRefused("used")
    if change.expires_at <= utcnow():
        raise ChangeRefused("expired")
    with all_institutions("an address change is confirmed from a link, signed in or not"):
        user = db.session.get(User, change.user_id)
        if user is None or not user.active:
            raise ChangeRefused("invalid")
        if _address_taken(change.new_email, user):
            raise ChangeRefused("taken")
        user.email = change.new_email
        change.confirmed_at = utcnow()
        db.session.commit()
    return user


def change_password(user: User, *, current_password: str, password: str,
                    keep_session_id: int | None = None) -> User:
    """Set a new password after checking the current one; the user gets a mail saying so.
    Every other session of the user is revoked (all but ``keep_session_id``, the one in use)."""
    _check_current_password(user, current_password)
    accounts._check_password(password, user)
    user.password_hash = accounts.hash_password(password)
    user_sessions.revoke_all(user.id, "password", keep_id=keep_session_id, commit=False)
    notify_password_changed(user)
    db.session.commit()
    return user
