"""impact cost: each institution's yearly budget and its social-return assumptions

Revision ID: sectorcost_01
Revises: totp_01
"""
from alembic import op
import sqlalchemy as sa

import core.models.types


revision = "sectorcost_01"
down_revision = "totp_01"
branch_labels = None
depends_on = None


def _owned(name, *columns, unique):
    op.create_table(
        name,
        sa.Column("id", sa.Integer(), nullable=False),
        *columns,
        sa.Column("updated_at", core.models.types.UTCDateTime(), nullable=False),
        sa.Column("institution_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["institution_id"], ["institutions.id"],
                                name=op.f(f"fk_{name}_institution_id_institutions")),
        sa.PrimaryKeyConstraint("id", name=op.f(f"pk_{name}")),
        sa.UniqueConstraint("institution_id", unique, name=op.f(f"uq_{name}_institution_id")),
    )
    with op.batch_alter_table(name, schema=None) as batch_op:
        batch_op.create_index(batch_op.f(f"ix_{name}_institution_id"), ["institution_id"], unique=False)


def upgrade():
    _owned("institution_budgets", sa.Column("year", sa.Integer(), nullable=False),
           sa.Column("amount", core.models.types.Money(), nullable=False), unique="year")
    _owned("social_return_assumptions", sa.Column("key", sa.String(length=60), nullable=False),
           sa.Column("value", sa.String(length=40), nullable=False), unique="key")


def downgrade():
    for name in ("social_return_assumptions", "institution_budgets"):
        with op.batch_alter_table(name, schema=None) as batch_op:
            batch_op.drop_index(batch_op.f(f"ix_{name}_institution_id"))
        op.drop_table(name)
