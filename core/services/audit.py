"""The audit mechanism: session events write the trail; models only opt in with ``Audited``.

Later features get their trail by inheriting ``Audited``; they write no audit code.

Personal values (the columns a model lists in ``__audit_personal__``) are never written in clear:
each is stored as ``{"$personal": "client:12", "sealed": "<Fernet token>"}``, encrypted with the
key of its subject (``core.models.subject_keys``, created on first use). ``opened(entry)`` gives
the changes with those values decrypted, or ``ERASED`` where the subject's key was destroyed by an
erasure (``destroy_key``): the trail keeps who did what and when, never the data of an erased person.
"""
from __future__ import annotations

import json
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import date, datetime, time, timezone
from decimal import Decimal

from flask import g, has_request_context
from cryptography.fernet import Fernet, InvalidToken
from sqlalchemy import delete, event, insert, inspect, select, update
from sqlalchemy.orm import Session

from core.extensions import db
from core.models.audit import AuditEntry, Audited
from core.models.subject_keys import SubjectKey
from core.models.types import utcnow

SECRET = "(secret)"
#: what ``opened`` gives for a personal value whose subject's key is gone
ERASED = "(erased)"
#: what ``opened`` gives when the person's key exists but no configured data key opens it
UNREADABLE = "(unreadable)"
PERSONAL = "$personal"
_KEYS = "microfin_subject_keys"
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


# --- the keys of the persons (crypto-shredding) ---------------------------------------------------

def _cache(session: Session) -> dict:
    return session.info.setdefault(_KEYS, {})


def _forget_keys(session: Session, *_args) -> None:
    """Keys are cached for one transaction only: another may destroy one meanwhile (a session
    that stays in one transaction while another erases keeps seeing the key, as it sees the row)."""
    session.info.pop(_KEYS, None)


def _key_of(session: Session, subject: tuple[str, int], *, create: bool) -> Fernet | None:
    """The Fernet of ``subject``'s key; made and stored when missing and ``create``."""
    cache = _cache(session)
    if cache.get(subject) is None and not (subject in cache and not create):
        _load_keys(session, {subject}, create=create)
    return cache[subject]


def _load_keys(session: Session, subjects: set[tuple[str, int]], *, create: bool) -> None:
    """Read the keys of ``subjects`` into the cache in a few statements (a portfolio import flushes
    thousands of new clients at once); with ``create``, make and store the missing ones first."""
    from core.services import data_keys

    cache = _cache(session)
    wanted = sorted(subject for subject in subjects if cache.get(subject) is None)
    if not wanted:
        return
    table = SubjectKey.__table__
    connection = session.connection()

    def stored() -> dict:
        found = {}
        for kind in {subject[0] for subject in wanted}:
            ids = [ident for k, ident in wanted if k == kind]
            for start in range(0, len(ids), 500):
                found.update({(kind, row.subject_id): row.key for row in connection.execute(
                    select(table.c.subject_id, table.c.key).where(
                        table.c.kind == kind, table.c.subject_id.in_(ids[start:start + 500])))})
        return found

    found = stored()
    missing = [subject for subject in wanted if subject not in found]
    if missing and create:
        sealer, now = data_keys.fernet(data_keys.SUBJECT_KEY), utcnow()
        if connection.dialect.name == "postgresql":
            from sqlalchemy.dialects.postgresql import insert as insert_once
        else:
            from sqlalchemy.dialects.sqlite import insert as insert_once
        connection.execute(insert_once(table).on_conflict_do_nothing(), [
            {"kind": kind, "subject_id": ident, "key": sealer.encrypt(Fernet.generate_key()).decode(),
             "created_at": now} for kind, ident in missing])
        found = stored()  # another transaction may have stored one first: its key wins
    opener = data_keys.fernet(data_keys.SUBJECT_KEY)
    for subject in wanted:
        token = found.get(subject)
        cache[subject] = Fernet(opener.decrypt(token.encode())) if token else None


def destroy_key(kind: str, subject_id: int) -> bool:
    """Delete the key of a person, in the caller's transaction (after a flush of the erasure's own
    changes, whose trail entries are sealed with it). Their values in the trail are unreadable from
    the commit on. Returns whether there was a key."""
    db.session.flush()
    done = db.session.execute(delete(SubjectKey).where(SubjectKey.kind == kind,
                                                       SubjectKey.subject_id == subject_id)).rowcount
    _cache(db.session)[(kind, subject_id)] = None
    return bool(done)


def _seal(session: Session, subject: tuple[str, int], value) -> dict:
    token = _key_of(session, subject, create=True).encrypt(json.dumps(value).encode()).decode()
    return {PERSONAL: f"{subject[0]}:{subject[1]}", "sealed": token}


def is_sealed(value) -> bool:
    return isinstance(value, dict) and PERSONAL in value


def subject_of(obj) -> tuple[str, int] | None:
    """The person whose key seals ``obj``'s personal values (None: it has none)."""
    if not obj.__audit_personal__ or obj.__audit_subject__ is None:
        return None
    kind, attribute = obj.__audit_subject__
    ident = getattr(obj, attribute, None)
    return (kind, ident) if ident is not None else None


def _open(session: Session, value):
    if not is_sealed(value):
        return value
    kind, _, ident = value[PERSONAL].partition(":")
    try:
        fernet = _key_of(session, (kind, int(ident)), create=False)
    except InvalidToken:  # a restore without its data key: the value is there, not erased
        return UNREADABLE
    if fernet is None:
        return ERASED
    try:
        return json.loads(fernet.decrypt(value["sealed"].encode()))
    except InvalidToken:
        return ERASED


def opened(entry) -> dict:
    """An entry's changes with its personal values decrypted (``ERASED`` where the key is gone)."""
    changes = entry.changes or {}
    if not any(is_sealed(value) for value in changes.values()):
        return changes
    return {key: _open(db.session, value) for key, value in changes.items()}


# --- the entries ------------------------------------------------------------------------------------

def _snapshot(obj, session: Session) -> dict:
    subject = subject_of(obj)
    changes = {}
    for key in _columns(obj):
        value = getattr(obj, key)
        if value is None:
            continue
        if key in obj.__audit_secret__:
            changes[key] = SECRET
        elif subject is not None and key in obj.__audit_personal__:
            changes[key] = _seal(session, subject, plain(value))
        else:
            changes[key] = plain(value)
    return changes


def _diff(obj, session: Session) -> dict:
    state = inspect(obj)
    subject = subject_of(obj)
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
            pair = [plain(old), plain(new)]
            changes[key] = (_seal(session, subject, pair) if subject is not None and key in obj.__audit_personal__
                            else pair)
    return changes


def _row(obj, action: str, changes: dict) -> dict:
    user_id, actor = _actor()
    return {
        "at": utcnow(), "user_id": user_id, "actor": actor, "action": action,
        "institution_id": getattr(obj, "institution_id", None),
        "record_type": obj.__tablename__, "record_id": getattr(obj, "id", None),
        "changes": changes,
    }


def _personal_subjects(session: Session) -> set[tuple[str, int]]:
    """The persons whose values this flush writes (new rows, and changed personal columns)."""
    found = {subject for obj in session.new if isinstance(obj, Audited) and (subject := subject_of(obj))}
    for obj in session.dirty:
        if isinstance(obj, Audited) and (subject := subject_of(obj)) and subject not in found:
            state = inspect(obj)
            if any(state.attrs[key].history.has_changes() for key in obj.__audit_personal__):
                found.add(subject)
    return found


def _after_flush(session: Session, _flush_context) -> None:
    subjects = _personal_subjects(session)
    if subjects:
        _load_keys(session, subjects, create=True)
    rows = [_row(o, "create", _snapshot(o, session)) for o in session.new if isinstance(o, Audited)]
    for obj in session.dirty:
        if isinstance(obj, Audited) and (changes := _diff(obj, session)):
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
    for name in ("after_begin", "after_commit", "after_rollback"):
        if not event.contains(Session, name, _forget_keys):
            event.listen(Session, name, _forget_keys)


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



# --- sealing the values written in clear before ``shred_01`` ---------------------------------------

SEAL_BATCH = 500


def personal_models() -> dict[str, type]:
    """Audited models with personal columns, by table name."""
    return {mapper.class_.__tablename__: mapper.class_ for mapper in db.Model.registry.mappers
            if issubclass(mapper.class_, Audited) and mapper.class_.__audit_personal__
            and mapper.class_.__audit_subject__ is not None}


def _in_clear(value) -> bool:
    return not is_sealed(value) and value != ERASED


def _subject_ids(model, record_ids: set[int]) -> dict[int, int]:
    """record id -> subject id: from the row, else (the row was deleted) from its create entry."""
    attribute = model.__audit_subject__[1]
    if attribute == "id":
        return {ident: ident for ident in record_ids}
    column = model.__table__.c[attribute]
    found = dict(db.session.execute(select(model.__table__.c.id, column)
                                    .where(model.__table__.c.id.in_(record_ids))).all())
    missing = record_ids - set(found)
    if missing:
        for record_id, changes in db.session.execute(select(AuditEntry.record_id, AuditEntry.changes).where(
                AuditEntry.record_type == model.__tablename__, AuditEntry.record_id.in_(missing),
                AuditEntry.action == "create")).all():
            if (changes or {}).get(attribute) is not None:
                found[record_id] = changes[attribute]
    return found


def _seal_rows(rows) -> int:
    """Rewrite the given (id, record_type, record_id, changes) rows with their clear personal values
    sealed; the only change the trail ever gets. Returns how many rows were rewritten."""
    models = personal_models()
    todo = [row for row in rows if row[1] in models and row[2] is not None and any(
        key in models[row[1]].__audit_personal__ and _in_clear(value) for key, value in (row[3] or {}).items())]
    by_table: dict[str, set[int]] = {}
    for row in todo:
        by_table.setdefault(row[1], set()).add(row[2])
    subjects = {table: _subject_ids(models[table], ids) for table, ids in by_table.items()}
    erased = _erased_subjects({(models[table].__audit_subject__[0], ident)
                               for table, found in subjects.items() for ident in found.values()})
    written = 0
    for entry_id, table, record_id, changes in todo:
        model, subject_id = models[table], subjects[table].get(record_id)
        if subject_id is None:
            continue  # the subject cannot be told: left as it is (counted by the caller's report)
        subject = (model.__audit_subject__[0], subject_id)
        new = {key: (ERASED if subject in erased else _seal(db.session, subject, value))
               if key in model.__audit_personal__ and _in_clear(value) else value
               for key, value in changes.items()}
        db.session.execute(update(AuditEntry.__table__).where(AuditEntry.__table__.c.id == entry_id)
                           .values(changes=new))
        written += 1
    return written


def _erased_subjects(subjects: set[tuple[str, int]]) -> set[tuple[str, int]]:
    """Those of ``subjects`` already erased (before their values were sealed): their clear values
    are replaced by ``ERASED`` rather than sealed under a new key."""
    from core.models import Client, Referral

    found = set()
    for kind, model in (("client", Client), ("referral", Referral)):
        ids = [ident for k, ident in subjects if k == kind]
        for start in range(0, len(ids), 500):
            found |= {(kind, ident) for ident in db.session.scalars(select(model.id).where(
                model.id.in_(ids[start:start + 500]), model.erased_at.is_not(None)))}
    return found


def seal_history(*, batch_size: int = SEAL_BATCH) -> tuple[int, int]:
    """Seal every personal value the trail holds in clear (entries written before ``shred_01``),
    ``batch_size`` entries per transaction, oldest first; idempotent, so an interrupted run is
    finished by running it again. Returns (entries read, entries rewritten)."""
    from core.tenancy import all_institutions

    table = AuditEntry.__table__
    read = written = 0
    after = 0
    with all_institutions("audit seal: the trail of every institution"):
        while True:
            rows = db.session.execute(
                select(table.c.id, table.c.record_type, table.c.record_id, table.c.changes)
                .where(table.c.id > after, table.c.record_type.in_(sorted(personal_models())))
                .order_by(table.c.id).limit(batch_size)).all()
            if not rows:
                return read, written
            read += len(rows)
            written += _seal_rows(rows)
            after = rows[-1][0]
            db.session.commit()


def seal_records(records: dict[str, list[int]]) -> int:
    """Seal the clear personal values of the entries about the given records (table -> ids), in
    the caller's transaction: an erasure does it before destroying the key."""
    from sqlalchemy import or_

    table = AuditEntry.__table__
    conditions = [(table.c.record_type == name) & table.c.record_id.in_(ids) for name, ids in records.items() if ids]
    if not conditions:
        return 0
    rows = db.session.execute(select(table.c.id, table.c.record_type, table.c.record_id, table.c.changes)
                              .where(or_(*conditions)).order_by(table.c.id)).all()
    return _seal_rows(rows)
