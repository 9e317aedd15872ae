"""Server-side session records: one per sign-in, checked on every request, revocable.

The browser's (signed) Flask session holds a random session id; the database keeps only its
SHA-256 in a ``UserSession`` with who, when, from where and on what. ``current`` answers the
record of a request, or ``None`` when it is unknown, revoked, idle longer than
``MICROFIN_IDLE_MINUTES`` or older than ``PERMANENT_SESSION_LIFETIME`` (``MICROFIN_SESSION_HOURS``):
the request is then treated as signed out. A copied cookie therefore stops working at sign-out,
and a session cannot be kept alive past its absolute lifetime by using it.

Revocation reasons (``revoked_reason``): ``sign-out``, ``revoked`` (by the user from My account),
``everywhere`` ("Sign out everywhere"), ``password`` (password changed: the other sessions),
``password-reset``, ``disabled`` and ``admin`` (by an admin), ``replaced`` (a new sign-in in the
same browser), ``idle`` and ``expired`` (noted when an expired session is used).
"""
from __future__ import annotations

import functools
import hashlib
import re
import secrets
from datetime import timedelta

from flask import current_app
from sqlalchemy import and_, bindparam, delete, or_, select, update

from core.extensions import db
from core.models import User, UserSession
from core.models.types import utcnow
from core.services.errors import NotFound

#: ``last_seen_at`` is written at most this often, not on every request
SEEN_RESOLUTION = timedelta(minutes=1)
#: records revoked or expired longer ago than this are deleted by the daily chore
KEEP_DAYS = 30

_BROWSERS = (("Edg/", "Edge"), ("OPR/", "Opera"), ("Firefox/", "Firefox"), ("Chromium/", "Chromium"),
             ("Chrome/", "Chrome"), ("Safari/", "Safari"))
_SYSTEMS = (("Android", "Android"), ("iPhone", "iOS"), ("iPad", "iOS"), ("Windows", "Windows"),
            ("Mac OS X", "macOS"), ("CrOS", "ChromeOS"), ("Linux", "Linux"))


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def idle_lifetime() -> timedelta:
    """How long a session may go unused (``MICROFIN_IDLE_MINUTES``)."""
    return timedelta(minutes=current_app.config["MICROFIN_IDLE_MINUTES"])


def absolute_lifetime() -> timedelta:
    """How long a session lasts at most, however busy (``MICROFIN_SESSION_HOURS``)."""
    return current_app.config["PERMANENT_SESSION_LIFETIME"]


def summarise_user_agent(user_agent: str | None) -> str:
    """"Firefox, Linux" from a User-Agent header: only the browser and the system are kept."""
    text = user_agent or ""
    browser = next((name for key, name in _BROWSERS if key in text), "")
    system = next((name for key, name in _SYSTEMS if key in text), "")
    if "HeadlessChrome/" in text:
        browser = "Chrome (headless)"
    summary = ", ".join(part for part in (browser, system) if part)
    return summary or re.sub(r"[^\w .,/()-]", "", text)[:40]


def start(user: User, *, ip: str | None, user_agent: str | None) -> str:
    """Record a new session of ``user``; returns the random session id for the signed cookie
    (shown only to that browser: the database keeps its hash)."""
    token = secrets.token_urlsafe(32)
    now = utcnow()
    db.session.add(UserSession(token_hash=_hash(token), user_id=user.id, created_at=now, last_seen_at=now,
                               ip=(ip or "")[:64], user_agent=summarise_user_agent(user_agent)[:120]))
    db.session.commit()
    return token


def _expiry_reason(record: UserSession, now) -> str | None:
    if record.created_at + absolute_lifetime() <= now:
        return "expired"
    if record.last_seen_at + idle_lifetime() <= now:
        return "idle"
    return None


_NOT_LOADED = object()


def load_user_with_session(user_id: int, token: str | None) -> tuple[User | None, UserSession | None]:
    """The user ``user_id`` and the session record of ``token`` when it is theirs, in one query
    (each signed-in request needs both); the record is then checked by ``current(..., record=)``.
    Run it across institutions (the tenant is not known before the user)."""
    if not token:
        return db.session.get(User, user_id), None
    row = db.session.execute(_user_with_session(), {"user_id": user_id, "token_hash": _hash(token)}).first()
    return (row[0], row[1]) if row is not None else (None, None)


@functools.cache
def _user_with_session():
    """The statement of ``load_user_with_session``, built once (building it cost as much as running it)."""
    return (select(User, UserSession)
            .outerjoin(UserSession, and_(UserSession.user_id == User.id,
                                         UserSession.token_hash == bindparam("token_hash")))
            .where(User.id == bindparam("user_id")))


def current(token: str | None, user_id: int, record=_NOT_LOADED) -> UserSession | None:
    """The live session record of ``token`` for ``user_id``, seen now; ``None`` when it is
    unknown, another user's, revoked, idle too long or too old (an expired one is marked so).
    ``record``: the record of ``token`` already loaded (``load_user_with_session``), or None
    when there is none."""
    if not token:
        return None
    if record is _NOT_LOADED:
        record = db.session.scalar(select(UserSession).where(UserSession.token_hash == _hash(token)))
    if record is None or record.user_id != user_id or record.revoked_at is not None:
        return None
    now = utcnow()
    reason = _expiry_reason(record, now)
    if reason is not None:
        record.revoked_at, record.revoked_reason = now, reason
        db.session.commit()
        return None
    if now - record.last_seen_at >= SEEN_RESOLUTION:
        record.last_seen_at = now
        db.session.commit()
    return record


def revoke_token(token: str | None, reason: str = "sign-out") -> None:
    """Revoke the session of ``token`` (signing out): a copy of the cookie stops working too."""
    if not token:
        return
    db.session.execute(update(UserSession)
                       .where(UserSession.token_hash == _hash(token), UserSession.revoked_at.is_(None))
                       .values(revoked_at=utcnow(), revoked_reason=reason))
    db.session.commit()


def revoke_all(user_id: int, reason: str, *, keep_id: int | None = None, commit: bool = True) -> int:
    """Revoke every live session of ``user_id`` but ``keep_id``; returns how many.
    ``commit=False`` leaves it to the caller's transaction (with the change that causes it)."""
    query = update(UserSession).where(UserSession.user_id == user_id, UserSession.revoked_at.is_(None))
    if keep_id is not None:
        query = query.where(UserSession.id != keep_id)
    count = db.session.execute(query.values(revoked_at=utcnow(), revoked_reason=reason)
                               .execution_options(synchronize_session=False)).rowcount
    if commit:
        db.session.commit()
    return count


def revoke_one(user: User, session_id: int) -> UserSession:
    """Revoke one of ``user``'s own sessions; ``NotFound`` for anyone else's (or none)."""
    record = db.session.get(UserSession, session_id)
    if record is None or record.user_id != user.id:
        raise NotFound()
    if record.revoked_at is None:
        record.revoked_at, record.revoked_reason = utcnow(), "revoked"
        db.session.commit()
    return record


def active_for(user: User) -> list[UserSession]:
    """``user``'s sessions that still work, the most recently used first."""
    now = utcnow()
    return list(db.session.scalars(
        select(UserSession)
        .where(UserSession.user_id == user.id, UserSession.revoked_at.is_(None),
               UserSession.created_at > now - absolute_lifetime(),
               UserSession.last_seen_at > now - idle_lifetime())
        .order_by(UserSession.last_seen_at.desc(), UserSession.id.desc())))


def purge(older_than_days: int = KEEP_DAYS) -> int:
    """Delete the records of sessions revoked, or started, more than ``older_than_days`` ago (the
    daily chore ``purge-user-sessions``): a started one is past its absolute lifetime long since."""
    now = utcnow()
    cutoff = now - timedelta(days=older_than_days)
    started_before = now - max(timedelta(days=older_than_days), absolute_lifetime())
    result = db.session.execute(delete(UserSession).where(
        or_(UserSession.revoked_at < cutoff, UserSession.created_at < started_before)))
    db.session.commit()
    return result.rowcount
