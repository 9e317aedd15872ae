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
from sqlalchemy.exc import IntegrityError

from core.config import LANGUAGES
from core.extensions import db
from core.models import ALL_ROLES, FEDERATION_ROLES, INSTITUTION_ROLES, ROLE_REFERRER, LoginAttempt, LoginThrottle, User
from core.models.types import utcnow
from core.plugin_api import Event
from core.plugins import emit
from core.services import audit
from core.services.errors import NotFound, ValidationFailed
from core import tenancy
from core.tenancy import all_institutions

MIN_PASSWORD_LENGTH = 12
#: zxcvbn's score (0-4) a password must reach: 3 is "safely unguessable" to an online attacker
#: and slows an offline one (it knows common passwords, keyboard runs, repeats, dates, words).
MIN_PASSWORD_SCORE = 3
#: the longest lockout of an account, however often it was locked before
MAX_LOCKOUT = timedelta(hours=24)
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


def check_password_strength(password: str, *, user_inputs: tuple[str, ...] = ()) -> None:
    """``ValidationFailed`` on ``password`` when it is shorter than ``MIN_PASSWORD_LENGTH`` or
    guessable (zxcvbn's score below ``MIN_PASSWORD_SCORE``: common passwords, ``aaaaaaaaaaaa``,
    ``123456789012``, a word with a year, the user's own name or e-mail address)."""
    from zxcvbn import zxcvbn

    if len(password or "") < MIN_PASSWORD_LENGTH:
        raise ValidationFailed({"password": _l("Use at least %(n)d characters.", n=MIN_PASSWORD_LENGTH)})
    inputs = [part for text in user_inputs if text for part in re.split(r"[@.\s_-]+", text.lower()) if part]
    own = any(len(part) >= 4 and part in password.lower().replace(" ", "") for part in inputs)
    if own or zxcvbn(password[:100], user_inputs=inputs)["score"] < MIN_PASSWORD_SCORE:
        raise ValidationFailed({"password": _l(
            "This password is too easy to guess: it is common, a pattern or close to your name. "
            "Use a few unrelated words, or a password manager.")})


def _check_password(password: str, user: User | None = None) -> None:
    check_password_strength(password, user_inputs=(user.email, user.name) if user is not None else ())


def _check_user_fields(email: str, name: str, role: str, institution_id: int | None,
                       language: str, referrer_id: int | None = None) -> None:
    errors = {}
    if not EMAIL_RE.match(email):
        errors["email"] = _l("Enter a valid email address.")
    if not (name or "").strip():
        errors["name"] = _l("Enter the person's name.")
    if role not in ALL_ROLES:
        errors["role"] = _l("Choose a valid role.")
    elif role in INSTITUTION_ROLES and institution_id is None:
        errors["institution"] = _l("This role belongs to an institution: choose one.")
    elif role in FEDERATION_ROLES and institution_id is not None:
        errors["institution"] = _l("Federation and operator staff belong to no institution.")
    elif role == ROLE_REFERRER and (institution_id is not None or referrer_id is None):
        errors["referrer"] = _l("An adviser of a bank or public financier belongs to a referrer "
                                "organisation, and to no institution: choose the organisation.")
    elif role != ROLE_REFERRER and referrer_id is not None:
        errors["referrer"] = _l("Only advisers of a bank or public financier belong to a referrer organisation.")
    if referrer_id is not None and "referrer" not in errors:
        from core.models.referrals import Referrer

        referrer = db.session.get(Referrer, referrer_id)
        if referrer is None or not referrer.active or referrer.kind == "self":
            errors["referrer"] = _l("Choose an active referrer organisation.")
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
                password: str | None = None, preferred_language: str = "en",
                referrer_id: int | None = None) -> User:
    """Create a user (operator CLI, demo). Without a password the user cannot sign in yet.

    A portal user (role ``referrer``) gives ``referrer_id`` (their organisation) and no institution."""
    email = normalise_email(email)
    _check_user_fields(email, name, role, institution_id, preferred_language, referrer_id)
    if password is not None:
        check_password_strength(password, user_inputs=(email, name))
    user = User(email=email, name=name.strip(), role=role, institution_id=institution_id,
                preferred_language=preferred_language, referrer_id=referrer_id,
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


def invite_portal_user(*, operator: User, referrer_id: int, email: str, name: str,
                       preferred_language: str) -> Invitation:
    """The operator invites an adviser of a referrer organisation to the portal (role ``referrer``).

    The invitation mail (in the adviser's language) is queued in the same transaction."""
    from core.models.referrals import Referrer

    email = normalise_email(email)
    _check_user_fields(email, name, ROLE_REFERRER, None, preferred_language, referrer_id)
    token = secrets.token_urlsafe(32)
    days = current_app.config["MICROFIN_INVITE_DAYS"]
    referrer = db.session.get(Referrer, referrer_id)
    user = User(email=email, name=name.strip(), role=ROLE_REFERRER, institution_id=None,
                referrer_id=referrer_id, preferred_language=preferred_language,
                invite_token_hash=_token_hash(token), invite_expires_at=utcnow() + timedelta(days=days))
    from core.services import outbox

    with all_institutions("the operator manages portal users, who belong to no institution"):
        db.session.add(user)
        outbox.enqueue(to=user.email, template="portal_invitation", locale=user.preferred_language,
                       context={"user_name": user.name, "operator_name": operator.name, "days": days,
                                "referrer_name": referrer.name,
                                "invitation_url": outbox.external_url("auth.invitation", token=token)},
                       kind="invitation")
        db.session.commit()
    emit(Event("user.invited", None, {"user_id": user.id, "role": ROLE_REFERRER}))
    return Invitation(user=user, token=token)


def portal_users() -> list[User]:
    """Every portal user (role ``referrer``) with their organisation, by organisation and name."""
    from core.models.referrals import Referrer

    with all_institutions("the operator lists portal users, who belong to no institution"):
        from sqlalchemy.orm import selectinload

        return list(db.session.scalars(select(User).join(Referrer, Referrer.id == User.referrer_id)
                                       .options(selectinload(User.referrer))
                                       .where(User.role == ROLE_REFERRER)
                                       .order_by(Referrer.name, User.name)))


def set_portal_user_active(*, user_id: int, active: bool) -> User:
    """The operator enables or disables a portal user (any other user's id: NotFound)."""
    with all_institutions("the operator manages portal users, who belong to no institution"):
        user = db.session.scalar(select(User).where(User.id == user_id, User.role == ROLE_REFERRER))
        if user is None:
            raise NotFound()
        user.active = active
        db.session.commit()
    emit(Event("user.enabled" if active else "user.disabled", None, {"user_id": user.id}))
    return user


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
    _check_password(password, user)
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


def _address_throttled(address: str) -> bool:
    """Many failures from one address (password spraying over many accounts). The limit is high,
    so that one colleague's typos never lock out an office behind one NAT address."""
    config = current_app.config
    since = utcnow() - timedelta(minutes=config["MICROFIN_LOGIN_WINDOW_MINUTES"])
    return _recent_failures(LoginAttempt.address, address, since) >= config["MICROFIN_LOGIN_MAX_FAILURES_PER_ADDRESS"]


def _reserve_attempt(email: str) -> datetime | None:
    """Count one attempt on the account before its password is checked; ``None`` when it may go
    ahead, else until when it is refused. One guarded UPDATE, committed at once, does the count:
    of 30 parallel attempts exactly ``MICROFIN_LOGIN_MAX_FAILURES`` get through."""
    from sqlalchemy import case, or_, update

    config = current_app.config
    now = utcnow()
    window_start = now - timedelta(minutes=config["MICROFIN_LOGIN_WINDOW_MINUTES"])
    if db.session.get(LoginThrottle, email) is None:
        db.session.add(LoginThrottle(email=email, failures=0, window_started_at=now, lockouts=0))
        try:
            db.session.commit()
        except IntegrityError:  # a parallel attempt made it first
            db.session.rollback()
    expired = LoginThrottle.window_started_at < window_start
    reserved = db.session.execute(
        update(LoginThrottle)
        .where(LoginThrottle.email == email,
               or_(LoginThrottle.locked_until.is_(None), LoginThrottle.locked_until <= now),
               or_(LoginThrottle.failures < config["MICROFIN_LOGIN_MAX_FAILURES"], expired))
        .values(failures=case((expired, 1), else_=LoginThrottle.failures + 1),
                window_started_at=case((expired, now), else_=LoginThrottle.window_started_at))
        .execution_options(synchronize_session=False)).rowcount
    db.session.commit()
    if reserved:
        return None
    row = db.session.get(LoginThrottle, email)
    db.session.refresh(row)
    return max(row.locked_until or now, row.window_started_at + timedelta(minutes=config["MICROFIN_LOGIN_WINDOW_MINUTES"]))


def reserve_attempt(key: str) -> datetime | None:
    """Count one attempt under ``key`` (an e-mail, or another counter such as a user's second
    factor codes) before it is checked; ``None`` when it may go ahead, else until when it is refused.
    Pair with :func:`after_attempt` in the same transaction as the check's outcome."""
    return _reserve_attempt(key)


def after_attempt(key: str, ok: bool) -> None:
    """Clear ``key``'s count after a success, lock it when a failure reaches the limit."""
    _after_attempt(key, ok)


def _after_attempt(email: str, ok: bool) -> None:
    """A good password clears the account's count; the failure that reaches the limit locks the
    account, each lockout in a row twice as long as the one before (at most ``MAX_LOCKOUT``)."""
    row = db.session.get(LoginThrottle, email)
    if row is None:
        return
    if ok:
        row.failures, row.lockouts, row.locked_until = 0, 0, None
    elif row.failures >= current_app.config["MICROFIN_LOGIN_MAX_FAILURES"]:
        window = timedelta(minutes=current_app.config["MICROFIN_LOGIN_WINDOW_MINUTES"])
        row.locked_until = utcnow() + min(window * 2 ** row.lockouts, MAX_LOCKOUT)
        row.lockouts += 1


def _verify(user: User | None, password: str) -> bool:
    try:
        return hasher().verify(user.password_hash if user and user.password_hash else _dummy_hash(),
                               password) and user is not None and user.password_hash is not None
    except (VerificationError, InvalidHashError):
        return False


def _refused(email: str, address: str, until: datetime) -> SignInRefused:
    db.session.add(LoginAttempt(email=email, address=address, succeeded=False))
    db.session.commit()
    minutes = max(1, -(-int((until - utcnow()).total_seconds()) // 60))
    return SignInRefused("throttled", minutes)


def authenticate(email: str, password: str, address: str, *, finish: bool = True) -> User:
    """Check a sign-in; record the attempt; rehash when argon2 parameters changed.

    Raises ``SignInRefused`` with the same reason for an unknown email, a wrong password and a
    disabled account, so an answer never reveals whether an account exists. An account (known or
    not) is refused for the window after ``MICROFIN_LOGIN_MAX_FAILURES`` failures, then for twice
    as long after each further lockout in a row; an address after
    ``MICROFIN_LOGIN_MAX_FAILURES_PER_ADDRESS`` failures over any accounts.

    With ``finish=False`` the password is checked (and the attempt recorded) but the sign-in is
    not: the caller asks for the second factor first, then calls :func:`finish_sign_in`.
    """
    email = normalise_email(email)
    window = current_app.config["MICROFIN_LOGIN_WINDOW_MINUTES"]
    if _address_throttled(address):
        raise _refused(email, address, utcnow() + timedelta(minutes=window))
    until = _reserve_attempt(email)
    if until is not None:
        raise _refused(email, address, until)
    with all_institutions("sign-in looks a user up by email"):
        user = db.session.scalar(select(User).where(User.email == email))
        ok = _verify(user, password) and user.active and _institution_enabled(user)
        db.session.add(LoginAttempt(email=email, address=address, succeeded=ok))
        _after_attempt(email, ok)
        if not ok:
            db.session.commit()
            raise SignInRefused("invalid")
        if hasher().check_needs_rehash(user.password_hash):
            user.password_hash = hash_password(password)
        if finish:
            finish_sign_in(user)
        db.session.commit()
    return user


def finish_sign_in(user: User, detail: dict | None = None) -> None:
    """Record a completed sign-in (last time, audit entry), in the caller's transaction."""
    with all_institutions("a sign-in is recorded before the tenant is known"):
        user.last_login_at = utcnow()
        with audit.acting_as(user.email, user.id):
            db.session.flush()
            audit.record("sign-in", user, detail)


def _institution_enabled(user: User) -> bool:
    """The user's institution is enabled; for a portal user, their referrer organisation is active."""
    from core.plugins import state

    if user.role == ROLE_REFERRER:
        return referrer_active(user)
    if user.institution_id is None:
        return True
    return bool(user.institution and user.institution.enabled
                and user.institution.slug in state().institutions)


def referrer_active(user: User) -> bool:
    """A portal user's organisation exists and is active (else they cannot sign in)."""
    from core.models.referrals import Referrer

    referrer = db.session.get(Referrer, user.referrer_id) if user.referrer_id else None
    return bool(referrer and referrer.active)


def prune_login_attempts(older_than_days: int = 30) -> int:
    """Delete old attempts (they only matter inside the throttling window)."""
    cutoff = utcnow() - timedelta(days=older_than_days)
    result = db.session.execute(delete(LoginAttempt).where(LoginAttempt.at < cutoff))
    db.session.commit()
    return result.rowcount
