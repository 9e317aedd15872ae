"""referrals: a normalised name key on an index, enterprise start date and term, offer state index

Revision ID: w2refcore_01
Revises: 0011_loans_more
"""
import unicodedata

import sqlalchemy as sa
from alembic import op

revision = "w2refcore_01"
down_revision = "0011_loans_more"
branch_labels = None
depends_on = None


def _search_key(text):
    """As core.services.clients.search_key (copied: a migration does not import the app)."""
    decomposed = unicodedata.normalize("NFKD", text or "")
    plain = "".join(c for c in decomposed if not unicodedata.combining(c)).lower()
    return " ".join("".join(c if c.isalnum() else " " for c in plain).split())


def upgrade():
    with op.batch_alter_table("referrals", schema=None) as batch_op:
        batch_op.add_column(sa.Column("applicant_match_key", sa.String(length=220), nullable=True))
        batch_op.add_column(sa.Column("enterprise_started_on", sa.Date(), nullable=True))
        batch_op.add_column(sa.Column("term_months", sa.Integer(), nullable=True))
        batch_op.drop_index("ix_referrals_match_name")
        batch_op.create_index("ix_referrals_match_key", ["applicant_match_key", "applicant_birth_date"],
                              unique=False)
    referrals = sa.table("referrals", sa.column("id", sa.Integer), sa.column("applicant_first_name", sa.String),
                         sa.column("applicant_last_name", sa.String), sa.column("applicant_match_key", sa.String))
    connection = op.get_bind()
    rows = connection.execute(sa.select(referrals.c.id, referrals.c.applicant_last_name,
                                        referrals.c.applicant_first_name)
                              .where(referrals.c.applicant_last_name.is_not(None))).all()
    for ident, last, first in rows:
        connection.execute(referrals.update().where(referrals.c.id == ident)
                           .values(applicant_match_key=_search_key(f"{last} {first or ''}")[:220]))
    with op.batch_alter_table("referral_offers", schema=None) as batch_op:
        batch_op.create_index("ix_referral_offers_state_institution", ["state", "institution_id"], unique=False)


def downgrade():
    with op.batch_alter_table("referral_offers", schema=None) as batch_op:
        batch_op.drop_index("ix_referral_offers_state_institution")
    with op.batch_alter_table("referrals", schema=None) as batch_op:
        batch_op.drop_index("ix_referrals_match_key")
        batch_op.create_index("ix_referrals_match_name", ["applicant_last_name", "applicant_first_name",
                                                          "applicant_birth_date"], unique=False)
        batch_op.drop_column("term_months")
        batch_op.drop_column("enterprise_started_on")
        batch_op.drop_column("applicant_match_key")
