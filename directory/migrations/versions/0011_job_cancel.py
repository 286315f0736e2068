"""Jobs can be cancelled: a fourth end state, ``cancelled``; the principal who asked a
running job to stop (it stops at its next safe point); and the permission to cancel one's
own jobs, ``job.cancel``, given to every role that may start jobs (an admin cancels
anyone's).

Revision ID: 0011
Revises: 0010
"""
import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None

#: roles that start jobs (provision, deploy; backups, audits, web scans) may cancel them
STARTERS = ("network.provision", "audit.run")
OLD_STATES = "state IN ('queued', 'running', 'succeeded', 'failed')"
NEW_STATES = "state IN ('queued', 'running', 'succeeded', 'failed', 'cancelled')"


def _set_permission(add: bool) -> None:
    role = sa.table("gin_role", sa.column("id", sa.Integer), sa.column("permissions", sa.JSON))
    conn = op.get_bind()
    for rid, perms in conn.execute(sa.select(role.c.id, role.c.permissions)).all():
        perms = [p for p in (perms or []) if p != "job.cancel"]
        if add and any(p in perms for p in STARTERS):
            perms.append("job.cancel")
        conn.execute(role.update().where(role.c.id == rid).values(permissions=perms))


def _states(check: str) -> None:
    """SQLite changes a CHECK only by copying the table (PostgreSQL alters it in place)."""
    sqlite = op.get_bind().dialect.name == "sqlite"
    with op.batch_alter_table("gin_job", recreate="always" if sqlite else "auto") as batch:
        batch.drop_constraint("ck_gin_job_state", type_="check")
        batch.create_check_constraint("ck_gin_job_state", check)


def upgrade() -> None:
    _states(NEW_STATES)
    with op.batch_alter_table("gin_job") as batch:
        batch.add_column(sa.Column("cancel_requested_by", sa.String(length=128), nullable=True))
    _set_permission(True)


def downgrade() -> None:
    _set_permission(False)
    op.execute("UPDATE gin_job SET state = 'failed' WHERE state = 'cancelled'")
    with op.batch_alter_table("gin_job") as batch:
        batch.drop_column("cancel_requested_by")
    _states(OLD_STATES)
