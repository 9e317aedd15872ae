"""operator screens: an institution disabled by the operator stays disabled; test webhook deliveries

Revision ID: opscreens_01
Revises: passwords_01
"""
from alembic import op
import sqlalchemy as sa

import core.models.types

revision = "opscreens_01"
down_revision = "passwords_01"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("institutions", schema=None) as batch_op:
        batch_op.add_column(sa.Column("operator_disabled_at", core.models.types.UTCDateTime(), nullable=True))
    # A test delivery from the operator's screen belongs to no referral.
    with op.batch_alter_table("webhook_outbox", schema=None) as batch_op:
        batch_op.alter_column("referral_id", existing_type=sa.Integer(), nullable=True)


def downgrade():
    op.execute("DELETE FROM webhook_deliveries WHERE message_id IN "
               "(SELECT id FROM webhook_outbox WHERE referral_id IS NULL)")
    op.execute("DELETE FROM webhook_outbox WHERE referral_id IS NULL")
    with op.batch_alter_table("webhook_outbox", schema=None) as batch_op:
        batch_op.alter_column("referral_id", existing_type=sa.Integer(), nullable=False)
    with op.batch_alter_table("institutions", schema=None) as batch_op:
        batch_op.drop_column("operator_disabled_at")
