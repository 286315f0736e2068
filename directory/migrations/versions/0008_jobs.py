"""Jobs of the shared service, and the permission to run audits.

``gin_job`` is gin's own record of a long operation (kind, state, progress, owner, the
worker running it and its heartbeat); ``gin_job_log`` its log lines.  Whatever executes a
job (an in-process runner, procrastinate workers on PostgreSQL) writes here, so the API
reads one table.  The roles that run audits, web scans and config backups (admin,
engineer) gain ``audit.run``; an auditor keeps reading only.

Revision ID: 0008
Revises: 0007
"""
import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

#: roles given the new permission (roles are data: an admin may grant it to others)
AUDIT_RUNNERS = ("admin", "engineer")


def _set_permission(add: bool) -> None:
    role = sa.table("gin_role", sa.column("id", sa.Integer), sa.column("name", sa.String),
                    sa.column("permissions", sa.JSON))
    conn = op.get_bind()
    for rid, name, perms in conn.execute(sa.select(role.c.id, role.c.name,
                                                   role.c.permissions)).all():
        if name not in AUDIT_RUNNERS:
            continue
        perms = [p for p in (perms or []) if p != "audit.run"] + (["audit.run"] if add else [])
        conn.execute(role.update().where(role.c.id == rid).values(permissions=perms))


def upgrade() -> None:
    op.create_table(
        "gin_job",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("owner", sa.String(length=128), nullable=False),
        sa.Column("agency_id", sa.Integer(), nullable=True),
        sa.Column("params", sa.JSON(), nullable=False),
        sa.Column("result", sa.JSON(), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("progress_done", sa.Integer(), nullable=False),
        sa.Column("progress_total", sa.Integer(), nullable=False),
        sa.Column("runner", sa.String(length=32), nullable=False),
        sa.Column("worker_pid", sa.Integer(), nullable=True),
        sa.Column("worker_host", sa.String(length=255), nullable=True),
        sa.Column("worker_start", sa.String(length=64), nullable=True),
        sa.Column("heartbeat_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint("state IN ('queued', 'running', 'succeeded', 'failed')",
                           name="ck_gin_job_state"),
        sa.ForeignKeyConstraint(["agency_id"], ["agency.id"], ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("gin_job") as batch:
        batch.create_index("ix_gin_job_state", ["state"])
        batch.create_index("ix_gin_job_owner", ["owner"])
    op.create_table(
        "gin_job_log",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("job_id", sa.Integer(), nullable=False),
        sa.Column("time", sa.DateTime(timezone=True), nullable=False),
        sa.Column("line", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(["job_id"], ["gin_job.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("gin_job_log") as batch:
        batch.create_index("ix_gin_job_log_job", ["job_id", "id"])
    _set_permission(True)


def downgrade() -> None:
    _set_permission(False)
    op.drop_table("gin_job_log")
    with op.batch_alter_table("gin_job") as batch:
        batch.drop_index("ix_gin_job_owner")
        batch.drop_index("ix_gin_job_state")
    op.drop_table("gin_job")
