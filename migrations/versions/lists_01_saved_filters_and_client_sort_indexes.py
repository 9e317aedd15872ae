"""lists: saved filters per user and list; indexes for the client list's sortable columns

Revision ID: lists_01
Revises: shred_01
"""
import sqlalchemy as sa
from alembic import op

import core.models.types

revision = "lists_01"
down_revision = "shred_01"
branch_labels = None
depends_on = None

SORT_INDEXES = (("ix_clients_sort_created", "created_at"), ("ix_clients_sort_stage", "stage"),
                ("ix_clients_sort_sector", "sector"), ("ix_clients_sort_status", "status"))


def upgrade():
    op.create_table(
        "saved_filters",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("list_key", sa.String(length=20), nullable=False),
        sa.Column("name", sa.String(length=80), nullable=False),
        sa.Column("query", sa.String(length=1000), nullable=False),
        sa.Column("created_at", core.models.types.UTCDateTime(), nullable=False),
        sa.Column("institution_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["institution_id"], ["institutions.id"]),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("user_id", "list_key", "name", name="uq_saved_filters_name"),
    )
    with op.batch_alter_table("saved_filters", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_saved_filters_institution_id"), ["institution_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_saved_filters_user_id"), ["user_id"], unique=False)
    with op.batch_alter_table("clients", schema=None) as batch_op:
        for name, column in SORT_INDEXES:
            batch_op.create_index(name, ["institution_id", column, "id"], unique=False)


def downgrade():
    with op.batch_alter_table("clients", schema=None) as batch_op:
        for name, _column in SORT_INDEXES:
            batch_op.drop_index(name)
    with op.batch_alter_table("saved_filters", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_saved_filters_user_id"))
        batch_op.drop_index(batch_op.f("ix_saved_filters_institution_id"))
    op.drop_table("saved_filters")
