"""secrets: webhook secrets encrypted with the data key; the national-number hash key kept as data;
API tokens with an optional expiry

Revision ID: secrets_01
Revises: search_01

Upgrade encrypts every clear ``referrers.webhook_secret`` with the newest data key and stores the
key of the national-number hashes in ``data_secrets`` (encrypted), so that ``microfin keys
rotate`` can replace the data key without changing any hash. Downgrade decrypts the webhook
secrets again and drops ``data_secrets``; it refuses when the hashes could no longer be found by
the older code (after a rotation: downgrade with the original key configured first).

The key derivation is written out here (not imported) so this revision keeps working whatever
becomes of ``core.services.data_keys``; it must stay equal to it.
"""
import base64
import hashlib
import hmac

import sqlalchemy as sa
from alembic import op
from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from flask import current_app

import core.models.types

revision = 'secrets_01'
down_revision = 'search_01'
branch_labels = None
depends_on = None

NATIONAL_NUMBER = b"national-number-encryption"
WEBHOOK_SECRET = b"webhook-secret-encryption"
DATA_SECRET = b"data-secret-encryption"
LEGACY_MATCH = b"national-number-match"
MATCH_KEY = "match-key"

referrers = sa.table("referrers", sa.column("id", sa.Integer), sa.column("webhook_secret", sa.Text))
clients = sa.table("clients", sa.column("id", sa.Integer), sa.column("national_number_secret", sa.Text),
                   sa.column("national_number_hash", sa.String))
referrals = sa.table("referrals", sa.column("national_number_hash", sa.String))
data_secrets = sa.table("data_secrets", sa.column("name", sa.String), sa.column("value", sa.Text))


def _keys() -> list[str]:
    return list(current_app.config.get("MICROFIN_DATA_KEYS") or [current_app.config["MICROFIN_DATA_KEY"]])


def _derive(key: str, purpose: bytes) -> bytes:
    return hmac.new(key.encode(), purpose, hashlib.sha256).digest()


def _fernet(key: str, purpose: bytes) -> Fernet:
    return Fernet(base64.urlsafe_b64encode(_derive(key, purpose)))


def _hash_key_in_use(connection, keys: list[str]) -> bytes:
    """The material the stored national-number hashes were made with: found from a client whose
    number one of the keys decrypts and hashes the same; without such a client, the only key (or,
    when several are configured, the oldest: the one the code before this revision used)."""
    sample = connection.execute(
        sa.select(clients.c.national_number_secret, clients.c.national_number_hash)
        .where(clients.c.national_number_secret.is_not(None), clients.c.national_number_hash.is_not(None))
        .limit(1)).first()
    if sample is not None:
        for key in keys:
            try:
                number = _fernet(key, NATIONAL_NUMBER).decrypt(sample[0].encode())
            except InvalidToken:
                continue
            material = _derive(key, LEGACY_MATCH)
            if hmac.new(material, number, hashlib.sha256).hexdigest() == sample[1]:
                return material
    return _derive(keys[-1], LEGACY_MATCH)


def _hashes_stored(connection) -> bool:
    return any(connection.execute(sa.select(sa.literal(1)).select_from(table)
                                  .where(table.c.national_number_hash.is_not(None)).limit(1)).first()
               for table in (clients, referrals))


def upgrade():
    op.create_table('data_secrets',
                    sa.Column('name', sa.String(length=40), nullable=False),
                    sa.Column('value', sa.Text(), nullable=False),
                    sa.PrimaryKeyConstraint('name', name=op.f('pk_data_secrets')))
    with op.batch_alter_table('referrers', schema=None) as batch_op:
        batch_op.alter_column('webhook_secret', existing_type=sa.String(length=200), type_=sa.Text(),
                              existing_nullable=True)
    with op.batch_alter_table('referrer_tokens', schema=None) as batch_op:
        batch_op.add_column(sa.Column('expires_at', core.models.types.UTCDateTime(), nullable=True))

    connection = op.get_bind()
    keys = _keys()
    if _hashes_stored(connection):  # a database without any gets the key on first use
        material = _hash_key_in_use(connection, keys)
        connection.execute(sa.insert(data_secrets).values(
            name=MATCH_KEY, value=_fernet(keys[0], DATA_SECRET).encrypt(base64.b64encode(material)).decode()))
    newest = _fernet(keys[0], WEBHOOK_SECRET)
    for referrer_id, secret in connection.execute(
            sa.select(referrers.c.id, referrers.c.webhook_secret).where(referrers.c.webhook_secret.is_not(None))).all():
        connection.execute(sa.update(referrers).where(referrers.c.id == referrer_id)
                           .values(webhook_secret=newest.encrypt(secret.encode()).decode()))


def downgrade():
    connection = op.get_bind()
    keys = _keys()
    stored = connection.execute(sa.select(data_secrets.c.value)
                                .where(data_secrets.c.name == MATCH_KEY)).scalar()
    if stored is not None:
        material = base64.b64decode(MultiFernet([_fernet(k, DATA_SECRET) for k in keys]).decrypt(stored.encode()))
        if material != _derive(keys[0], LEGACY_MATCH):
            raise RuntimeError(
                "The national-number hashes were made with a key the code before secrets_01 cannot derive "
                "from MICROFIN_DATA_KEY (the data key was rotated since). Configure the original data key "
                "first in MICROFIN_DATA_KEYS (it must still open the stored values) before downgrading.")
    webhook = MultiFernet([_fernet(k, WEBHOOK_SECRET) for k in keys])
    for referrer_id, token in connection.execute(
            sa.select(referrers.c.id, referrers.c.webhook_secret).where(referrers.c.webhook_secret.is_not(None))).all():
        connection.execute(sa.update(referrers).where(referrers.c.id == referrer_id)
                           .values(webhook_secret=webhook.decrypt(token.encode()).decode()))
    with op.batch_alter_table('referrers', schema=None) as batch_op:
        batch_op.alter_column('webhook_secret', existing_type=sa.Text(), type_=sa.String(length=200),
                              existing_nullable=True)
    with op.batch_alter_table('referrer_tokens', schema=None) as batch_op:
        batch_op.drop_column('expires_at')
    op.drop_table('data_secrets')
