"""Accounts: creating, inviting, disabling users; signing in with argon2 and throttling."""
from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy import delete, func, select

from core.config import LANGUAGES
from core.extensions import db
from core.models import FEDERATION_ROLES, INSTITUTION_ROLES, ROLES, LoginAttempt, User
from core.models.types import utcnow
from core.plugin_api import Event
from core.plugins import emit
from core.services import audit
from core.services.errors import NotFound, ValidationFailed
from core import tenancy
from core.tenancy import all_institutions

MIN_PASSWORD_LENGTH = 10
EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
# Verified against when the email is unknown, so both paths cost one argon2 verification.
_DUMMY_HASH_SOURCE = "microfin-no-such-user"


class SignInRefused(Exception):
    """Sign-in failed. ``reason`` is "invalid" or "throttled"; both say nothing about the account."""

    def __init__(self, reason: str, retry_minutes: int = 0):
        super().__init__(reason)
        self.reason = reason
        self.retry_minutes = retry_minutes


def hasher() -> PasswordHasher:
    """The argon2 hasher with this app's parameters (``MICROFIN_ARGON2_*`` may lower them in tests)."""
    config = current_app.config
    return PasswordHasher(
        time_cost=config.get("ARGON2_TIME_COST", 3),
        memory_cost=config.get("ARGON2_MEMORY_COST", 65536),
        parallelism=config.get("ARGON2_PARALLELISM", 4),
    )


def hash_password(password: str) -> str:
    return hasher().hash(password)


def _dummy_hash() -> str:
    cache = current_app.extensions.setdefault("microfin.dummy_hash", {})
    if "hash" not in cache:
        cache["hash"] = hash_password(_DUMMY_HASH_SOURCE)
    return cache["hash"]


def normalise_email(email: str) -> str:
    return (email or "").strip().lower()


def _check_password(password: str) -> None:
    if len(password or "") < MIN_PASSWORD_LENGTH:
        raise ValidationFailed({"password": _l("Use at least %(n)d characters.", n=MIN_PASSWORD_LENGTH)})


def _check_user_fields(email: str, name: str, role: str, institution_id: int | None,
                       language: str) -> None:
    errors = {}
    if not EMAIL_RE.match(email):
        errors["email"] = _l("Enter a valid email address.")
    if not (name or "").strip():
        errors["name"] = _l("Enter the person's name.")
    if role not in ROLES:
        errors["role"] = _l("Choose a valid role.")
    elif role in INSTITUTION_ROLES and institution_id is None:
        errors["institution"] = _l("This role belongs to an institution: choose one.")
    elif role in FEDERATION_ROLES and institution_id is not None:
        errors["institution"] = _l("Federation and operator staff belong to no institution.")
    if language not in LANGUAGES:
        errors["preferred_language"] = _l("Choose nl, fr or en.")
    if not errors:
        with all_institutions("e-mail addresses are unique across the sector"):
            taken = db.session.scalar(select(func.count()).select_from(User).where(User.email == email))
        if taken:
            errors["email"] = _l("A user with this email address already exists.")
    if errors:
        raise ValidationFailed(errors)


def create_user(*, email: str, name: str, role: str, institution_id: int | None,
                password: str | None = None, preferred_language: str = "en") -> User:
    """Create a user (operator CLI, demo). Without a password the user cannot sign in yet."""
    email = normalise_email(email)
    _check_user_fields(email, name, role, institution_id, preferred_language)
    if password is not None:
        _check_password(password)
    user = User(email=email, name=name.strip(), role=role, institution_id=institution_id,
                preferred_language=preferred_language,
                password_hash=hash_password(password) if password is not None else None)
    with all_institutions("operator creates a user of any institution"):
        db.session.add(user)
        db.session.commit()
    emit(Event("user.created", institution_id, {"user_id": user.id, "role": role}))
    return user


@dataclass
class Invitation:
    user: User
    token: str  # shown once to the admin, who passes the link on; only its hash is stored


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def invite_user(*, admin: User, email: str, name: str, role: str,
                preferred_language: str) -> Invitation:
    """An institution admin invites a colleague of their own institution."""
    if role not in INSTITUTION_ROLES:
        raise ValidationFailed({"role": _l("Choose admin, officer or coach.")})
    email = normalise_email(email)
    _check_user_fields(email, name, role, admin.institution_id, preferred_language)
    token = secrets.token_urlsafe(32)
    days = current_app.config["MICROFIN_INVITE_DAYS"]
    user = User(email=email, name=name.strip(), role=role, institution_id=admin.institution_id,
                preferred_language=preferred_language, invite_token_hash=_token_hash(token),
                invite_expires_at=utcnow() + timedelta(days=days))
    db.session.add(user)
    _mail_invitation(user, admin, token, days)
    db.session.commit()
    emit(Event("user.invited", user.institution_id, {"user_id": user.id, "role": role}))
    return Invitation(user=user, token=token)


def _mail_invitation(user: User, admin: User, token: str, days: int) -> None:
    """Queue the invitation mail, in the invited person's language (same transaction)."""
    from core.services import outbox

    outbox.enqueue(to=user.email, template="invitation", locale=user.preferred_language,
                   context={"user_name": user.name, "admin_name": admin.name, "days": days,
                            "invitation_url": outbox.external_url("auth.invitation", token=token)},
                   institution_id=user.institution_id, kind="invitation")


def find_invitation(token: str) -> User | None:
    """The user a still-valid invitation token belongs to."""
    with all_institutions("an invitation link is opened before sign-in"):
        user = db.session.scalar(select(User).where(User.invite_token_hash == _token_hash(token)))
    if user is None or user.invite_expires_at is None or user.invite_expires_at < utcnow():
        return None
    return user


def accept_invitation(token: str, password: str) -> User:
    """Set the invited user's password; the link then stops working."""
    user = find_invitation(token)
    if user is None:
        raise NotFound()
    _check_password(password)
    with all_institutions("an invitation link is used before sign-in"):
        user.password_hash = hash_password(password)
        user.invite_token_hash = None
        user.invite_expires_at = None
        db.session.commit()
    return user


def set_active(*, user_id: int, active: bool, by: User) -> User:
    """Enable or disable a user of the admin's own institution (never oneself)."""
    user = tenancy.get(User, user_id)
    if user is None:
        raise NotFound()
    if user.id == by.id:
        raise ValidationFailed({"": _l("You cannot disable your own account.")})
    user.active = active
    if not active:
        from core.services import user_sessions

        user_sessions.revoke_all(user.id, "disabled", commit=False)
    db.session.commit()
    emit(Event("user.enabled" if active else "user.disabled", user.institution_id,
               {"user_id": user.id}))
    return user


def sign_out_everywhere(*, user_id: int, by: User) -> User:
    """An admin ends every session of a user of their own institution (a lost laptop)."""
    from core.services import user_sessions

    user = tenancy.get(User, user_id)
    if user is None:
        raise NotFound()
    user_sessions.revoke_all(user.id, "admin", commit=False)
    audit.record("sessions-revoked", user)
    db.session.commit()
    return user


def users_of_current_institution() -> list[User]:
    return list(db.session.scalars(select(User).order_by(User.name)))


def _recent_failures(column, value, since: datetime) -> int:
    return db.session.scalar(
        select(func.count()).select_from(LoginAttempt)
        .where(column == value, LoginAttempt.at >= since, LoginAttempt.succeeded.is_(False))
    ) or 0


def _throttled(email: str, address: str) -> bool:
    config = current_app.config
    since = utcnow() - timedelta(minutes=config["MICROFIN_LOGIN_WINDOW_MINUTES"])
    limit = config["MICROFIN_LOGIN_MAX_FAILURES"]
    return (_recent_failures(LoginAttempt.email, email, since) >= limit
            or _recent_failures(LoginAttempt.address, address, since) >= limit * 4)


def _verify(user: User | None, password: str) -> bool:
    try:
        return hasher().verify(user.password_hash if user and user.password_hash else _dummy_hash(),
                               password) and user is not None and user.password_hash is not None
    except (VerificationError, InvalidHashError):
        return False


def authenticate(email: str, password: str, address: str) -> User:
    """Check a sign-in; record the attempt; rehash when argon2 parameters changed.

    Raises ``SignInRefused`` with the same reason for an unknown email, a wrong password and a
    disabled account, so an answer never reveals whether an account exists.
    """
    email = normalise_email(email)
    if _throttled(email, address):
        db.session.add(LoginAttempt(email=email, address=address, succeeded=False))
        db.session.commit()
        raise SignInRefused("throttled", current_app.config["MICROFIN_LOGIN_WINDOW_MINUTES"])
    with all_institutions("sign-in looks a user up by email"):
        user = db.session.scalar(select(User).where(User.email == email))
        ok = _verify(user, password) and user.active and _institution_enabled(user)
        db.session.add(LoginAttempt(email=email, address=address, succeeded=ok))
        if not ok:
            db.session.commit()
            raise SignInRefused("invalid")
        if hasher().check_needs_rehash(user.password_hash):
            user.password_hash = hash_password(password)
        user.last_login_at = utcnow()
        with audit.acting_as(user.email, user.id):
            db.session.flush()
            audit.record("sign-in", user)
        db.session.commit()
    return user


def _institution_enabled(user: User) -> bool:
    from core.plugins import state

    if user.institution_id is None:
        return True
    return bool(user.institution and user.institution.enabled
                and user.institution.slug in state().institutions)


def prune_login_attempts(older_than_days: int = 30) -> int:
    """Delete old attempts (they only matter inside the throttling window)."""
    cutoff = utcnow() - timedelta(days=older_than_days)
    result = db.session.execute(delete(LoginAttempt).where(LoginAttempt.at < cutoff))
    db.session.commit()
    return result.rowcount
