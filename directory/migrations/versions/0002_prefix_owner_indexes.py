"""Indexes on a prefix's owners (agency, link, interface).

Finding an agency's /48, a link's /127 and /31, or a CE's LAN was a scan of the prefix
table; at 100,000 agencies that cost ~16 ms per look-up (bench/RESULTS.md).

Revision ID: 0002
Revises: 0001
"""
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

INDEXES = {"ix_prefix_agency": "agency_id", "ix_prefix_link": "link_id",
           "ix_prefix_interface": "interface_id"}


def upgrade() -> None:
    with op.batch_alter_table("prefix") as batch:
        for name, column in INDEXES.items():
            batch.create_index(name, [column])


def downgrade() -> None:
    with op.batch_alter_table("prefix") as batch:
        for name in INDEXES:
            batch.drop_index(name)
