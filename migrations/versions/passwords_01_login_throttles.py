"""login throttles: each account's failed sign-ins in the window, counted exactly, and its lockout

Revision ID: passwords_01
Revises: statement_01
"""
from alembic import op
import sqlalchemy as sa

import core.models.types


revision = "passwords_01"
down_revision = "statement_01"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "login_throttles",
        sa.Column("email", sa.String(length=254), nullable=False),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("window_started_at", core.models.types.UTCDateTime(), nullable=False),
        sa.Column("locked_until", core.models.types.UTCDateTime(), nullable=True),
        sa.Column("lockouts", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("email", name=op.f("pk_login_throttles")),
    )


def downgrade():
    op.drop_table("login_throttles")
