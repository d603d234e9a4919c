"""boot profiles; ports name one; networks carry boot options and a discovery profile

Revision ID: 0003
Revises: 0002
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "boot_profiles",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("name", sa.String(length=63), nullable=False),
        sa.Column("project_id", sa.String(length=255), nullable=False),
        sa.Column("description", sa.String(length=1024), nullable=False),
        sa.Column("kernel", sa.Text(), nullable=True),
        sa.Column("initrds", sa.JSON(), nullable=False),
        sa.Column("cmdline", sa.Text(), nullable=False),
        sa.Column("script", sa.Text(), nullable=True),
        sa.Column("chain_url", sa.Text(), nullable=True),
        sa.Column("revision_number", sa.BigInteger(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_boot_profiles")),
        sa.UniqueConstraint("name", name=op.f("uq_boot_profiles_name")),
    )
    with op.batch_alter_table("ports") as batch:
        batch.add_column(sa.Column("boot_profile_id", sa.String(length=36), nullable=True))
        batch.create_index(batch.f("ix_ports_boot_profile_id"), ["boot_profile_id"])
    with op.batch_alter_table("networks") as batch:
        batch.add_column(
            sa.Column("boot_dhcp_opts", sa.JSON(), nullable=False, server_default="[]")
        )
        batch.add_column(sa.Column("discovery_profile_id", sa.String(length=36), nullable=True))
        batch.create_index(batch.f("ix_networks_discovery_profile_id"), ["discovery_profile_id"])


def downgrade() -> None:
    with op.batch_alter_table("networks") as batch:
        batch.drop_index(batch.f("ix_networks_discovery_profile_id"))
        batch.drop_column("discovery_profile_id")
        batch.drop_column("boot_dhcp_opts")
    with op.batch_alter_table("ports") as batch:
        batch.drop_index(batch.f("ix_ports_boot_profile_id"))
        batch.drop_column("boot_profile_id")
    op.drop_table("boot_profiles")
