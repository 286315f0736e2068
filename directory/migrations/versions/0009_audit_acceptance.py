"""Accepted risks (a finding accepted until an expiry, and by whom), each user's console
language, and the indexes the console's posture pages read stored findings by.

Revision ID: 0009
Revises: 0008
"""
import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "audit_acceptance",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("device", sa.String(length=255), nullable=False),
        sa.Column("check", sa.String(length=64), nullable=False),
        sa.Column("agency", sa.String(length=255), nullable=True),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("accepted_by", sa.String(length=128), nullable=False),
        sa.Column("accepted_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_audit_acceptance_finding", "audit_acceptance", ["device", "check"])
    with op.batch_alter_table("gin_user") as batch:
        batch.add_column(sa.Column("language", sa.String(length=8), nullable=True))
    op.create_index("ix_audit_finding_run_agency", "audit_finding",
                    ["run_id", "agency", "status"])
    op.create_index("ix_audit_finding_device_check", "audit_finding", ["device", "check"])


def downgrade() -> None:
    op.drop_index("ix_audit_finding_device_check", table_name="audit_finding")
    op.drop_index("ix_audit_finding_run_agency", table_name="audit_finding")
    with op.batch_alter_table("gin_user") as batch:
        batch.drop_column("language")
    op.drop_table("audit_acceptance")
