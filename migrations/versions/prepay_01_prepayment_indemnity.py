"""early repayment: the product's indemnity kept on each loan

Revision ID: prepay_01
Revises: w2moneyin_01
Create Date: 2026-12-02 10:50:00

"""
from alembic import op
import sqlalchemy as sa

import core.models.types


# revision identifiers, used by Alembic.
revision = "prepay_01"
down_revision = "w2refchan_01"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("loans", schema=None) as batch_op:
        batch_op.add_column(sa.Column("prepayment_indemnity_months", core.models.types.Percent(), nullable=True))
        batch_op.add_column(sa.Column("prepayment_indemnity_percent", core.models.types.Percent(), nullable=True))


def downgrade():
    with op.batch_alter_table("loans", schema=None) as batch_op:
        batch_op.drop_column("prepayment_indemnity_percent")
        batch_op.drop_column("prepayment_indemnity_months")
