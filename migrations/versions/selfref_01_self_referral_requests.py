"""self-referral requests: the /refer form, kept until the e-mail address is confirmed

Revision ID: selfref_01
Revises: todo_01
"""
from alembic import op
import sqlalchemy as sa

import core.models.types


revision = "selfref_01"
down_revision = "todo_01"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "self_referral_requests",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("email", sa.String(length=254), nullable=False),
        sa.Column("language", sa.String(length=2), nullable=False),
        sa.Column("referrer_id", sa.Integer(), nullable=True),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("created_at", core.models.types.UTCDateTime(), nullable=False),
        sa.Column("expires_at", core.models.types.UTCDateTime(), nullable=False),
        sa.Column("confirmed_at", core.models.types.UTCDateTime(), nullable=True),
        sa.Column("referral_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(["referrer_id"], ["referrers.id"],
                                name=op.f("fk_self_referral_requests_referrer_id_referrers")),
        sa.ForeignKeyConstraint(["referral_id"], ["referrals.id"],
                                name=op.f("fk_self_referral_requests_referral_id_referrals")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_self_referral_requests")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_self_referral_requests_token_hash")),
    )
    with op.batch_alter_table("self_referral_requests", schema=None) as batch_op:
        batch_op.create_index("ix_self_referral_requests_email_created", ["email", "created_at"], unique=False)


def downgrade():
    with op.batch_alter_table("self_referral_requests", schema=None) as batch_op:
        batch_op.drop_index("ix_self_referral_requests_email_created")
    op.drop_table("self_referral_requests")
