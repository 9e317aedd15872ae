"""statement lines: their occurrence among identical lines of one file is part of their identity

Revision ID: statement_01
Revises: selfref_01
"""
from alembic import op
import sqlalchemy as sa


revision = "statement_01"
down_revision = "selfref_01"
branch_labels = None
depends_on = None

_OLD = ["institution_id", "booked_on", "amount", "reference", "counterparty"]


def upgrade():
    with op.batch_alter_table("statement_lines", schema=None) as batch_op:
        batch_op.add_column(sa.Column("occurrence", sa.Integer(), nullable=False, server_default="1"))
        batch_op.drop_constraint("uq_statement_lines_identity", type_="unique")
        batch_op.create_unique_constraint("uq_statement_lines_identity", _OLD + ["occurrence"])


def downgrade():
    with op.batch_alter_table("statement_lines", schema=None) as batch_op:
        batch_op.drop_constraint("uq_statement_lines_identity", type_="unique")
        batch_op.create_unique_constraint("uq_statement_lines_identity", _OLD)
        batch_op.drop_column("occurrence")
