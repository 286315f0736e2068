"""VPN PKI: certificates of the GIN VPN CA, and tunnel secrets waiting for their deploy.

``certificate`` holds the CA's and every gateway's certificate (PEM, validity, revocation,
whether it is deployed) with the private key sealed; ``tunnel_rotation`` holds a tunnel's
new secrets until deploying them succeeds (the tunnel keeps its current ones meanwhile).

Revision ID: 0004
Revises: 0003
"""
import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "certificate",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("serial", sa.String(length=40), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("subject", sa.String(length=255), nullable=False),
        sa.Column("device_id", sa.Integer(), nullable=True),
        sa.Column("not_before", sa.DateTime(timezone=True), nullable=False),
        sa.Column("not_after", sa.DateTime(timezone=True), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("revocation_reason", sa.String(length=32), nullable=True),
        sa.Column("deployed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("pem", sa.Text(), nullable=False),
        sa.Column("private_key_sealed", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("kind IN ('ca', 'gateway')", name="certificate_kind"),
        sa.CheckConstraint("status IN ('valid', 'revoked')", name="certificate_status"),
        sa.ForeignKeyConstraint(["device_id"], ["device.id"], ondelete="RESTRICT"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("serial"),
    )
    with op.batch_alter_table("certificate") as batch:
        batch.create_index("ix_certificate_device", ["device_id"])
        batch.create_index("ix_certificate_not_after", ["not_after"])
    op.create_table(
        "tunnel_rotation",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("tunnel_id", sa.Integer(), nullable=False),
        sa.Column("secret_ref", sa.String(length=255), nullable=True),
        sa.Column("details", sa.JSON(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["tunnel_id"], ["tunnel.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("tunnel_id"),
    )


def downgrade() -> None:
    op.drop_table("tunnel_rotation")
    with op.batch_alter_table("certificate") as batch:
        batch.drop_index("ix_certificate_not_after")
        batch.drop_index("ix_certificate_device")
    op.drop_table("certificate")
