"""Identity for the shared service, and the change log's hash chain.

``gin_user`` (argon2id password hashes), ``gin_role`` (roles as data: their permissions),
``gin_grant`` (a role over the whole GIN, a ministry's tree or one agency) and ``gin_token``
(named, expiring, revocable API tokens; only a hash of the secret), ``gin_login_failure``
(failed logins, for throttling across server processes).  ``change_log`` gains
``seq`` and ``hash``; the existing history is sealed into the chain here, in id order.

Revision ID: 0006
Revises: 0005
"""
import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

READ = ["directory.read", "changelog.read", "monitor.read", "audit.read"]
ROLES = [
    ("admin", "everything, including users, roles and tokens",
     ["directory.read", "directory.write", "prefix.allocate", "changelog.read", "identity.read",
      "identity.admin", "gsi.block", "monitor.read", "audit.read", "network.provision"]),
    ("engineer", "keeps the directory true and provisions links and tunnels",
     READ + ["directory.write", "prefix.allocate", "network.provision"]),
    ("soc", "watches the network; adds and lifts GSI blocks; does not change the directory",
     READ + ["gsi.block"]),
    ("auditor", "reads everything (access rights included) and changes nothing",
     READ + ["identity.read"]),
    ("viewer", "reads the directory", ["directory.read"]),
]


def upgrade() -> None:
    op.create_table(
        "gin_user",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("full_name", sa.String(length=255), nullable=True),
        sa.Column("password_hash", sa.String(length=255), nullable=True),
        sa.Column("disabled", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("name"),
    )
    role = op.create_table(
        "gin_role",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=32), nullable=False),
        sa.Column("description", sa.String(length=255), nullable=True),
        sa.Column("permissions", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("name"),
    )
    op.bulk_insert(role, [{"name": n, "description": d, "permissions": p} for n, d, p in ROLES])
    op.create_table(
        "gin_grant",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("role_id", sa.Integer(), nullable=False),
        sa.Column("scope", sa.String(length=16), nullable=False),
        sa.Column("agency_id", sa.Integer(), nullable=True),
        sa.CheckConstraint("scope IN ('gin', 'ministry', 'agency')", name="gin_grant_scope"),
        sa.CheckConstraint("(scope = 'gin') = (agency_id IS NULL)", name="gin_grant_agency"),
        sa.ForeignKeyConstraint(["user_id"], ["gin_user.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["role_id"], ["gin_role.id"], ondelete="RESTRICT"),
        sa.ForeignKeyConstraint(["agency_id"], ["agency.id"], ondelete="RESTRICT"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("user_id", "role_id", "scope", "agency_id", name="uq_gin_grant"),
    )
    op.create_table(
        "gin_token",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("key", sa.String(length=32), nullable=False),
        sa.Column("secret_hash", sa.String(length=64), nullable=False),
        sa.Column("read_only", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_used_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["user_id"], ["gin_user.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("key"),
        sa.UniqueConstraint("user_id", "name", name="uq_gin_token_name"),
    )
    op.create_table(
        "gin_login_failure",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("time", sa.DateTime(timezone=True), nullable=False),
        sa.Column("user_name", sa.String(length=64), nullable=False),
        sa.Column("source", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_login_failure_user", "gin_login_failure", ["user_name", "time"])
    op.create_index("ix_login_failure_source", "gin_login_failure", ["source", "time"])
    with op.batch_alter_table("change_log") as batch:
        batch.add_column(sa.Column("seq", sa.BigInteger(), nullable=True))
        batch.add_column(sa.Column("hash", sa.String(length=64), nullable=True))
        batch.create_unique_constraint("uq_change_log_seq", ["seq"])
    _seal_history()


def _seal_history() -> None:
    """Chain the entries written before this revision, oldest first."""
    from directory import chain

    conn = op.get_bind()
    log = sa.table("change_log", *(sa.column(c) for c in ("id", "seq", "hash", *chain.FIELDS)))
    for col in ("before", "after"):
        log.c[col].type = sa.JSON()
    log.c["time"].type = sa.DateTime(timezone=True)
    rows = conn.execute(sa.select(*(log.c[c] for c in ("id", *chain.FIELDS)))
                        .order_by(log.c.id)).mappings().all()
    entries = [dict(row) for row in rows]
    chain.seal(conn, entries, {"head": (0, chain.GENESIS)})
    for entry in entries:
        conn.execute(log.update().where(log.c.id == entry["id"])
                     .values(seq=entry["seq"], hash=entry["hash"]))


def downgrade() -> None:
    with op.batch_alter_table("change_log") as batch:
        batch.drop_constraint("uq_change_log_seq", type_="unique")
        batch.drop_column("hash")
        batch.drop_column("seq")
    op.drop_table("gin_login_failure")
    op.drop_table("gin_token")
    op.drop_table("gin_grant")
    op.drop_table("gin_role")
    op.drop_table("gin_user")
