"""Join the second wave's revisions written in parallel (positions, mail, referral routing) into one head.

Revision ID: 0012_merge_wave2
Revises: w2positions_01, w2mail_02, w2refcore_01
"""

revision = "0012_merge_wave2"
down_revision = ("w2positions_01", "w2mail_02", "w2refcore_01")
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
