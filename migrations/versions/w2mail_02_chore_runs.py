"""mail: leases and results of scheduled chores

Revision ID: w2mail_02
Revises: w2mail_01
"""
from alembic import op
import sqlalchemy as sa

import core.models.types


revision = "w2mail_02"
down_revision = "w2mail_01"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "chore_runs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("chore", sa.String(length=60), nullable=False),
        sa.Column("period_key", sa.String(length=20), nullable=False),
        sa.Column("worker", sa.String(length=80), nullable=False),
        sa.Column("started_at", core.models.types.UTCDateTime(), nullable=False),
        sa.Column("finished_at", core.models.types.UTCDateTime(), nullable=True),
        sa.Column("ok", sa.Boolean(), nullable=True),
        sa.Column("result", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_chore_runs")),
        sa.UniqueConstraint("chore", "period_key", name=op.f("uq_chore_runs_chore")),
    )
    with op.batch_alter_table("chore_runs", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_chore_runs_chore"), ["chore"], unique=False)


def downgrade():
    with op.batch_alter_table("chore_runs", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_chore_runs_chore"))
    op.drop_table("chore_runs")
