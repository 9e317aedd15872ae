"""shred: a key per person for the audit trail's personal values (crypto-shredding); clients
marked pseudonymised or erased

Revision ID: shred_01
Revises: secrets_01

Only new, empty structures and two nullable columns: cheap on a big database. The audit rows
written before this revision, which hold personal values in clear, are encrypted afterwards by
``microfin audit seal`` (in batches, resumable; see docs/deploy.md), not here: a migration that
rewrote every audit row would hold one transaction over the whole trail. An erasure seals the
erased person's older rows itself before destroying the key, so it is complete either way.
"""
import sqlalchemy as sa
from alembic import op

import core.models.types

revision = 'shred_01'
down_revision = 'secrets_01'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('subject_keys',
                    sa.Column('id', sa.Integer(), nullable=False),
                    sa.Column('kind', sa.String(length=20), nullable=False),
                    sa.Column('subject_id', sa.Integer(), nullable=False),
                    sa.Column('key', sa.Text(), nullable=False),
                    sa.Column('created_at', core.models.types.UTCDateTime(), nullable=False),
                    sa.PrimaryKeyConstraint('id', name=op.f('pk_subject_keys')),
                    sa.UniqueConstraint('kind', 'subject_id', name=op.f('uq_subject_keys_kind')))
    with op.batch_alter_table('clients', schema=None) as batch_op:
        batch_op.add_column(sa.Column('pseudonymised_at', core.models.types.UTCDateTime(), nullable=True))
        batch_op.add_column(sa.Column('erased_at', core.models.types.UTCDateTime(), nullable=True))


def downgrade():
    with op.batch_alter_table('clients', schema=None) as batch_op:
        batch_op.drop_column('erased_at')
        batch_op.drop_column('pseudonymised_at')
    op.drop_table('subject_keys')
