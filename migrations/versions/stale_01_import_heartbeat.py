"""portfolio import runs: a heartbeat, so that a run whose process died is marked failed

Revision ID: stale_01
Revises: opscreens_01
"""
from alembic import op
import sqlalchemy as sa

import core.models.types


revision = "stale_01"
down_revision = "opscreens_01"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("loan_import_runs", schema=None) as batch_op:
        batch_op.add_column(sa.Column("heartbeat_at", core.models.types.UTCDateTime(), nullable=True))


def downgrade():
    with op.batch_alter_table("loan_import_runs", schema=None) as batch_op:
        batch_op.drop_column("heartbeat_at")
