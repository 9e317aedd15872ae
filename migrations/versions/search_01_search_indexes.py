"""search: indexes for the header search by IBAN and by a referrer's reference (issue 15)

Revision ID: search_01
Revises: followups_01
"""
from alembic import op


revision = 'search_01'
down_revision = 'followups_01'
branch_labels = None
depends_on = None


def upgrade():
    op.create_index('ix_clients_iban', 'clients', ['institution_id', 'iban'])
    op.create_index('ix_referrals_external_reference', 'referrals', ['external_reference'])


def downgrade():
    op.drop_index('ix_referrals_external_reference', table_name='referrals')
    op.drop_index('ix_clients_iban', table_name='clients')
