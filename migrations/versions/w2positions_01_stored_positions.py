"""loans: stored positions on schedule lines, a position per loan, month-end portfolio snapshots

Revision ID: w2positions_01
Revises: 0011_loans_more

After upgrading, run ``microfin loans refresh-positions`` once per installation (docs/deploy.md):
the stored positions of loans paid out before this revision are computed from their ledgers.
"""
from alembic import op
import sqlalchemy as sa

import core.models.types


revision = "w2positions_01"
down_revision = "0011_loans_more"
branch_labels = None
depends_on = None

MONEY = core.models.types.Money


def upgrade():
    with op.batch_alter_table("loan_schedule_lines", schema=None) as batch_op:
        for name in ("principal_paid", "interest_paid", "fees_paid", "due_before", "principal_from"):
            batch_op.add_column(sa.Column(name, MONEY(), nullable=False, server_default="0"))
        batch_op.create_index("ix_loan_schedule_position", ["loan_id", "version", "due_before"], unique=False)

    op.create_table(
        "loan_positions",
        sa.Column("loan_id", sa.Integer(), nullable=False),
        sa.Column("schedule_version", sa.Integer(), nullable=False),
        sa.Column("state", sa.String(length=12), nullable=False),
        sa.Column("paid_total", MONEY(), nullable=False),
        sa.Column("credit", MONEY(), nullable=False),
        sa.Column("principal_outstanding", MONEY(), nullable=False),
        sa.Column("interest_outstanding", MONEY(), nullable=False),
        sa.Column("fees_outstanding", MONEY(), nullable=False),
        sa.Column("arrears_amount", MONEY(), nullable=False),
        sa.Column("first_unpaid_due_on", sa.Date(), nullable=True),
        sa.Column("next_due_on", sa.Date(), nullable=True),
        sa.Column("last_value_date", sa.Date(), nullable=True),
        sa.Column("written_off_on", sa.Date(), nullable=True),
        sa.Column("written_off_principal", MONEY(), nullable=False),
        sa.Column("written_off_interest", MONEY(), nullable=False),
        sa.Column("refreshed_on", sa.Date(), nullable=False),
        sa.Column("refreshed_at", core.models.types.UTCDateTime(), nullable=False),
        sa.Column("institution_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["institution_id"], ["institutions.id"],
                                name=op.f("fk_loan_positions_institution_id_institutions")),
        sa.ForeignKeyConstraint(["loan_id"], ["loans.id"], name=op.f("fk_loan_positions_loan_id_loans")),
        sa.PrimaryKeyConstraint("loan_id", name=op.f("pk_loan_positions")),
    )
    with op.batch_alter_table("loan_positions", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_loan_positions_institution_id"), ["institution_id"], unique=False)
        batch_op.create_index("ix_loan_positions_institution_unpaid", ["institution_id", "first_unpaid_due_on"],
                              unique=False)

    op.create_table(
        "portfolio_snapshots",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("month_end", sa.Date(), nullable=False),
        sa.Column("borrowers", sa.Integer(), nullable=False),
        sa.Column("loans", sa.Integer(), nullable=False),
        sa.Column("gross_outstanding", MONEY(), nullable=False),
        sa.Column("at_risk_30", MONEY(), nullable=False),
        sa.Column("at_risk_90", MONEY(), nullable=False),
        sa.Column("disbursed_loans", sa.Integer(), nullable=False),
        sa.Column("disbursed_amount", MONEY(), nullable=False),
        sa.Column("written_off", MONEY(), nullable=False),
        sa.Column("due_in_month", MONEY(), nullable=False),
        sa.Column("repaid_of_due", MONEY(), nullable=False),
        sa.Column("written_at", core.models.types.UTCDateTime(), nullable=False),
        sa.Column("institution_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["institution_id"], ["institutions.id"],
                                name=op.f("fk_portfolio_snapshots_institution_id_institutions")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_portfolio_snapshots")),
        sa.UniqueConstraint("institution_id", "month_end", name=op.f("uq_portfolio_snapshots_institution_id")),
    )
    with op.batch_alter_table("portfolio_snapshots", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_portfolio_snapshots_institution_id"), ["institution_id"], unique=False)


def downgrade():
    op.drop_table("portfolio_snapshots")
    op.drop_table("loan_positions")
    with op.batch_alter_table("loan_schedule_lines", schema=None) as batch_op:
        batch_op.drop_index("ix_loan_schedule_position")
        for name in ("principal_from", "due_before", "fees_paid", "interest_paid", "principal_paid"):
            batch_op.drop_column(name)
