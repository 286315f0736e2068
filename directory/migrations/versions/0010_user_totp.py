"""A second factor for accounts that want one: the TOTP secret, sealed, and the last time
step a code was accepted for (so a code is not accepted twice).

Revision ID: 0010
Revises: 0009
"""
import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("gin_user") as batch:
        batch.add_column(sa.Column("totp_sealed", sa.Text(), nullable=True))
        batch.add_column(sa.Column("totp_last_step", sa.BigInteger(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("gin_user") as batch:
        batch.drop_column("totp_last_step")
        batch.drop_column("totp_sealed")
