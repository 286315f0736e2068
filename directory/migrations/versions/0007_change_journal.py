"""The change journal and cross-process device locks.

``device_change`` holds, per device a change touches, the pre-image, the lines and the
owner, written before the push and updated step by step; ``device_lock`` says who holds a
device's change lock (on SQLite it is the lock).

Revision ID: 0007
Revises: 0006
"""
import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "device_change",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("run_id", sa.String(length=36), nullable=False),
        sa.Column("device", sa.String(length=255), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("pre_image", sa.Text(), nullable=False),
        sa.Column("pre_sha256", sa.String(length=64), nullable=False),
        sa.Column("lines", sa.JSON(), nullable=False),
        sa.Column("after_sha256", sa.String(length=64), nullable=True),
        sa.Column("owner_pid", sa.Integer(), nullable=False),
        sa.Column("owner_host", sa.String(length=255), nullable=False),
        sa.Column("owner_start", sa.String(length=64), nullable=False),
        sa.Column("owner_user", sa.String(length=128), nullable=False),
        sa.Column("job_id", sa.String(length=128), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("history", sa.JSON(), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("device_change") as batch:
        batch.create_index("ix_device_change_open", ["device", "state"])
        batch.create_index("ix_device_change_run", ["run_id"])
    op.create_table(
        "device_lock",
        sa.Column("device", sa.String(length=255), nullable=False),
        sa.Column("owner_pid", sa.Integer(), nullable=False),
        sa.Column("owner_host", sa.String(length=255), nullable=False),
        sa.Column("owner_start", sa.String(length=64), nullable=False),
        sa.Column("owner_user", sa.String(length=128), nullable=False),
        sa.Column("acquired_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("device"),
    )


def downgrade() -> None:
    op.drop_table("device_lock")
    with op.batch_alter_table("device_change") as batch:
        batch.drop_index("ix_device_change_run")
        batch.drop_index("ix_device_change_open")
    op.drop_table("device_change")
