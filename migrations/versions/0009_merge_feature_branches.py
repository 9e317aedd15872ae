"""Join the feature revisions written in parallel (clients, referrals, …) into one core head.

Revision ID: 0009_merge
Revises: 0002_clients, 0003_compliance, 0004_plugin_settings, 0005_referrals
"""

revision = "0009_merge"
down_revision = ("0002_clients", "0003_compliance", "0004_plugin_settings", "0005_referrals")
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
