"""sightings of unknown MACs

Revision ID: 0002
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "sightings",
        sa.Column("mac", sa.String(length=32), nullable=False),
        sa.Column("network_id", sa.String(length=36), nullable=True),
        sa.Column("first_seen", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_seen", sa.DateTime(timezone=True), nullable=False),
        sa.Column("count", sa.BigInteger(), nullable=False),
        sa.Column("vendor_class", sa.String(length=255), nullable=True),
        sa.Column("client_arch", sa.Integer(), nullable=True),
        sa.Column("user_class", sa.String(length=255), nullable=True),
        sa.Column("giaddr", sa.String(length=64), nullable=True),
        sa.Column("relay_circuit_id", sa.String(length=255), nullable=True),
        sa.Column("relay_remote_id", sa.String(length=255), nullable=True),
        sa.Column("policy", sa.String(length=32), nullable=False),
        sa.PrimaryKeyConstraint("mac", name=op.f("pk_sightings")),
    )


def downgrade() -> None:
    op.drop_table("sightings")
