"""referral channels: how a referral arrived, a referrer's self-referral link code, portal users

Revision ID: w2refchan_01
Revises: w2moneyin_01
"""
from alembic import op
import sqlalchemy as sa

revision = "w2refchan_01"
down_revision = "w2moneyin_01"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("referrals") as batch:
        batch.add_column(sa.Column("channel", sa.String(length=10), server_default="api", nullable=False))
    with op.batch_alter_table("referrers") as batch:
        batch.add_column(sa.Column("link_code", sa.String(length=24), nullable=True))
        batch.create_unique_constraint("uq_referrers_link_code", ["link_code"])
    with op.batch_alter_table("users") as batch:
        batch.add_column(sa.Column("referrer_id", sa.Integer(), nullable=True))
        batch.create_foreign_key("fk_users_referrer_id_referrers", "referrers", ["referrer_id"], ["id"])
        batch.create_index("ix_users_referrer_id", ["referrer_id"])


def downgrade():
    with op.batch_alter_table("users") as batch:
        batch.drop_index("ix_users_referrer_id")
        batch.drop_constraint("fk_users_referrer_id_referrers", type_="foreignkey")
        batch.drop_column("referrer_id")
    with op.batch_alter_table("referrers") as batch:
        batch.drop_constraint("uq_referrers_link_code", type_="unique")
        batch.drop_column("link_code")
    with op.batch_alter_table("referrals") as batch:
        batch.drop_column("channel")
