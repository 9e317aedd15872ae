"""The data keys: encryption of the values the application must be able to read back, and rotation.

``MICROFIN_DATA_KEYS`` holds one or more keys, newest first (``core.config.data_keys``). Every use
gets a Fernet key of its own, derived from each data key with HMAC-SHA256 and a purpose label; a
``MultiFernet`` over them encrypts with the newest key and decrypts with any. ``rotate()``
re-encrypts every encrypted column with the newest key (in batches, skipping values already under
it), after which the older keys can be removed from the configuration.

Encrypted columns: national numbers (``clients.national_number_secret``), second-factor secrets
(``users.totp_secret``), webhook signing secrets (``referrers.webhook_secret``) and the key of
the national-number hashes (``data_secrets``: kept as data so that rotating never changes a hash),
and the keys of the persons whose personal values the audit trail holds (``subject_keys``).
"""
from __future__ import annotations

import base64
import hashlib
import hmac
from dataclasses import dataclass

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from flask import current_app
from sqlalchemy import Table, select, update

from core.extensions import db
from core.models.accounts import User
from core.models.data_secrets import DataSecret
from core.models.people import Client
from core.models.referrals import Referrer
from core.models.subject_keys import SubjectKey

NATIONAL_NUMBER = b"national-number-encryption"
SECOND_FACTOR = b"second-factor-secret-encryption"
WEBHOOK_SECRET = b"webhook-secret-encryption"
DATA_SECRET = b"data-secret-encryption"
SUBJECT_KEY = b"subject-key-encryption"
#: the purpose the national-number hash key was derived with before it was kept as data
LEGACY_MATCH = b"national-number-match"
MATCH_KEY = "match-key"
BATCH_SIZE = 500


@dataclass(frozen=True)
class EncryptedColumn:
    label: str
    table: Table
    key_column: str
    column: str
    purpose: bytes


#: Every column holding a Fernet token of the data key. ``rotate`` walks them all.
ENCRYPTED_COLUMNS = (
    EncryptedColumn("national numbers", Client.__table__, "id", "national_number_secret", NATIONAL_NUMBER),
    EncryptedColumn("second-factor secrets", User.__table__, "id", "totp_secret", SECOND_FACTOR),
    EncryptedColumn("webhook secrets", Referrer.__table__, "id", "webhook_secret", WEBHOOK_SECRET),
    EncryptedColumn("application secrets", DataSecret.__table__, "name", "value", DATA_SECRET),
    EncryptedColumn("keys of persons", SubjectKey.__table__, "id", "key", SUBJECT_KEY),
)


def configured_keys() -> list[str]:
    """The configured data keys, newest first."""
    keys = current_app.config.get("MICROFIN_DATA_KEYS") or [current_app.config["MICROFIN_DATA_KEY"]]
    return list(keys)


def derive(key: str, purpose: bytes) -> bytes:
    """The 32 bytes of material ``key`` gives for ``purpose`` (one data key, a key per use)."""
    return hmac.new(key.encode(), purpose, hashlib.sha256).digest()


def _fernet_of(key: str, purpose: bytes) -> Fernet:
    return Fernet(base64.urlsafe_b64encode(derive(key, purpose)))


def fernet(purpose: bytes) -> MultiFernet:
    """Encrypts with the newest key, decrypts with any configured one."""
    return MultiFernet([_fernet_of(key, purpose) for key in configured_keys()])


def seal(purpose: bytes, text: str) -> str:
    return fernet(purpose).encrypt(text.encode()).decode()


def unseal(purpose: bytes, token: str) -> str:
    """The clear text of ``token``; ``cryptography.fernet.InvalidToken`` when no key opens it."""
    return fernet(purpose).decrypt(token.encode()).decode()


def seal_optional(purpose: bytes, text: str | None) -> str | None:
    return seal(purpose, text) if text else None


def unseal_optional(purpose: bytes, token: str | None) -> str | None:
    return unseal(purpose, token) if token else None


# --- the key of the national-number hashes -------------------------------------------------------

def match_key() -> bytes:
    """The key of the national-number hashes, read once per application from ``data_secrets``.

    A database without the row (a fresh one) gets it derived from the newest key, which is what the
    hashes used before the key was kept as data; the migration ``secrets_01`` stores it for
    databases that had hashes already.
    """
    cache = current_app.extensions.setdefault("microfin_match_key", {})
    if "key" not in cache:
        stored = db.session.scalar(select(DataSecret.value).where(DataSecret.name == MATCH_KEY))
        if stored is None:
            material = derive(configured_keys()[0], LEGACY_MATCH)
            _store_once(MATCH_KEY, seal(DATA_SECRET, base64.b64encode(material).decode()))
            stored = db.session.scalar(select(DataSecret.value).where(DataSecret.name == MATCH_KEY))
        cache["key"] = base64.b64decode(unseal(DATA_SECRET, stored))
    return cache["key"]


def _store_once(name: str, value: str) -> None:
    """Insert ``name`` unless another process did first (in the caller's transaction)."""
    dialect = db.session.get_bind().dialect.name
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    db.session.execute(insert(DataSecret).values(name=name, value=value).on_conflict_do_nothing())


# --- rotation ---------------------------------------------------------------------------------------

@dataclass
class ColumnReport:
    label: str
    rotated: int = 0
    current: int = 0  # already encrypted with the newest key
    unreadable: int = 0  # no configured key opens it (left as it is)


def _is_current(token: str, purpose: bytes) -> bool:
    try:
        _fernet_of(configured_keys()[0], purpose).decrypt(token.encode())
    except InvalidToken:
        return False
    return True


def _batches(column: EncryptedColumn, batch_size: int):
    table, key = column.table, column.table.c[column.key_column]
    value = table.c[column.column]
    after = None
    while True:
        query = select(key, value).where(value.is_not(None)).order_by(key).limit(batch_size)
        if after is not None:
            query = query.where(key > after)
        rows = db.session.execute(query).all()
        if not rows:
            return
        yield rows
        after = rows[-1][0]


def rotate(*, batch_size: int = BATCH_SIZE, dry_run: bool = False) -> list[ColumnReport]:
    from core.tenancy import all_institutions

    with all_institutions("keys rotate: every encrypted value of every institution"):
        return _rotate(batch_size, dry_run)


def _rotate(batch_size: int, dry_run: bool) -> list[ColumnReport]:
    """Re-encrypt every encrypted value with the newest key, ``batch_size`` rows per transaction.

    Idempotent: a value already under the newest key is left alone, so a rotation that stopped
    half-way is finished by running it again. Written with table statements (no ORM events), so
    neither the tenancy scope nor one audit row per value applies; the caller records the rotation.
    A value no configured key opens is counted as unreadable and left unchanged.
    """
    reports = []
    for column in ENCRYPTED_COLUMNS:
        report = ColumnReport(column.label)
        multi = fernet(column.purpose)
        table, key = column.table, column.table.c[column.key_column]
        value = table.c[column.column]
        for rows in _batches(column, batch_size):
            for row_key, token in rows:
                if _is_current(token, column.purpose):
                    report.current += 1
                    continue
                try:
                    new_token = multi.rotate(token.encode()).decode()
                except InvalidToken:
                    report.unreadable += 1
                    continue
                report.rotated += 1
                if not dry_run:
                    # Only if unchanged meanwhile (a value written since is under the newest key).
                    db.session.execute(update(table).where(key == row_key, value == token)
                                       .values({column.column: new_token}))
            if dry_run:
                db.session.rollback()
            else:
                db.session.commit()
        reports.append(report)
    return reports


def status() -> list[ColumnReport]:
    """How many values are under the newest key, under an older one, or readable by none."""
    return rotate(dry_run=True)
