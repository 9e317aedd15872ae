"""The audit mechanism: session events write the trail; models only opt in with ``Audited``.

Later features get their trail by inheriting ``Audited``; they write no audit code.
"""
from __future__ import annotations

from contextlib import contextmanager
from contextvars import ContextVar
from datetime import date, datetime, time, timezone
from decimal import Decimal

from flask import g, has_request_context
from sqlalchemy import event, insert, inspect, select
from sqlalchemy.orm import Session

from core.extensions import db
from core.models.audit import AuditEntry, Audited
from core.models.types import utcnow

SECRET = "(secret)"
_actor_override: ContextVar[tuple[int | None, str] | None] = ContextVar("microfin_actor", default=None)


@contextmanager
def acting_as(label: str, user_id: int | None = None):
    """Name who acts outside a request (``cli``, ``worker``, ``demo``)."""
    token = _actor_override.set((user_id, label))
    try:
        yield
    finally:
        _actor_override.reset(token)


def _actor() -> tuple[int | None, str]:
    override = _actor_override.get()
    if override is not None:
        return override
    if has_request_context():
        user = g.get("_login_user")
        if user is not None and getattr(user, "is_authenticated", False):
            return user.id, user.email
        return None, "anonymous"
    return None, "system"


def plain(value):
    """``value`` as the trail (and any JSON export) stores it: ISO dates, decimal strings."""
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    return str(value)


def _columns(obj) -> list[str]:
    ignore = {"id", *obj.__audit_ignore__}
    return [attr.key for attr in inspect(obj).mapper.column_attrs if attr.key not in ignore]


def _snapshot(obj) -> dict:
    return {key: SECRET if key in obj.__audit_secret__ else plain(getattr(obj, key))
            for key in _columns(obj) if getattr(obj, key) is not None}


def _diff(obj) -> dict:
    state = inspect(obj)
    changes = {}
    for key in _columns(obj):
        history = state.attrs[key].history
        if not history.has_changes():
            continue
        if key in obj.__audit_secret__:
            changes[key] = SECRET
        else:
            old = history.deleted[0] if history.deleted else None
            new = history.added[0] if history.added else None
            changes[key] = [plain(old), plain(new)]
    return changes


def _row(obj, action: str, changes: dict) -> dict:
    user_id, actor = _actor()
    return {
        "at": utcnow(), "user_id": user_id, "actor": actor, "action": action,
        "institution_id": getattr(obj, "institution_id", None),
        "record_type": obj.__tablename__, "record_id": getattr(obj, "id", None),
        "changes": changes,
    }


def _after_flush(session: Session, _flush_context) -> None:
    rows = [_row(o, "create", _snapshot(o)) for o in session.new if isinstance(o, Audited)]
    for obj in session.dirty:
        if isinstance(obj, Audited) and (changes := _diff(obj)):
            rows.append(_row(obj, "update", changes))
    rows += [_row(o, "delete", {}) for o in session.deleted if isinstance(o, Audited)]
    if rows:
        session.connection().execute(insert(AuditEntry), rows)


def record(action: str, obj, detail: dict | None = None) -> None:
    """Write an entry that is not a row change (``reveal``, ``sign-in``) in the current transaction."""
    db.session.execute(insert(AuditEntry), [_row(obj, action, detail or {})])


def record_event(action: str, record_type: str, detail: dict | None = None) -> None:
    """An entry about no particular row (``keys-rotated``), outside any institution."""
    user_id, actor = _actor()
    db.session.execute(insert(AuditEntry), [{
        "at": utcnow(), "user_id": user_id, "actor": actor, "action": action, "institution_id": None,
        "record_type": record_type, "record_id": None, "changes": detail or {}}])


def install() -> None:
    """Attach the audit listener to every session (idempotent)."""
    if not event.contains(Session, "after_flush", _after_flush):
        event.listen(Session, "after_flush", _after_flush)


def trail(*, user_id: int | None = None, record_type: str | None = None,
          record_id: int | None = None, since: date | None = None, until: date | None = None,
          before_id: int | None = None, limit: int = 50, oldest_first: bool = False,
          after_id: int | None = None) -> list[AuditEntry]:
    """The current institution's trail, newest first (``oldest_first``: in the order written),
    filtered; keyset-paged by ``before_id`` (newest first) or ``after_id`` (oldest first). The id
    is the order: entries are appended, so it follows their time and never ties."""
    order = AuditEntry.id if oldest_first else AuditEntry.id.desc()
    query = select(AuditEntry).order_by(order).limit(limit)
    if after_id:
        query = query.where(AuditEntry.id > after_id)
    if user_id is not None:
        query = query.where(AuditEntry.user_id == user_id)
    if record_type:
        query = query.where(AuditEntry.record_type == record_type)
    if record_id is not None:
        query = query.where(AuditEntry.record_id == record_id)
    if since:
        query = query.where(AuditEntry.at >= datetime.combine(since, time.min, timezone.utc))
    if until:
        query = query.where(AuditEntry.at < datetime.combine(until, time.max, timezone.utc))
    if before_id:
        query = query.where(AuditEntry.id < before_id)
    return list(db.session.scalars(query))

