"""discovery: enrollment rules, discovered machines and their MACs

Revision ID: 0005
Revises: 0004
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "enrollment_rules",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("name", sa.String(length=63), nullable=False),
        sa.Column("description", sa.String(length=1024), nullable=False),
        sa.Column("priority", sa.Integer(), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("conditions", sa.JSON(), nullable=False),
        sa.Column("actions", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_enrollment_rules")),
        sa.UniqueConstraint("name", name=op.f("uq_enrollment_rules_name")),
    )
    op.create_table(
        "discovered_machines",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=True),
        sa.Column("boot_mac", sa.String(length=32), nullable=False),
        sa.Column("network_id", sa.String(length=36), nullable=True),
        sa.Column("source_ip", sa.String(length=64), nullable=True),
        sa.Column("inventory", sa.JSON(), nullable=False),
        sa.Column("sighting", sa.JSON(), nullable=True),
        sa.Column("rule_id", sa.String(length=36), nullable=True),
        sa.Column("node_id", sa.String(length=36), nullable=True),
        sa.Column("port_ids", sa.JSON(), nullable=False),
        sa.Column("owner", sa.String(length=255), nullable=True),
        sa.Column("boot_profile_id", sa.String(length=36), nullable=True),
        sa.Column("attributes", sa.JSON(), nullable=False),
        sa.Column("reports", sa.BigInteger(), nullable=False),
        sa.Column("first_seen", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_seen", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_discovered_machines")),
    )
    op.create_index(op.f("ix_discovered_machines_state"), "discovered_machines", ["state"])
    op.create_table(
        "discovered_macs",
        sa.Column("mac", sa.String(length=32), nullable=False),
        sa.Column("machine_id", sa.String(length=36), nullable=False),
        sa.ForeignKeyConstraint(
            ["machine_id"], ["discovered_machines.id"],
            name=op.f("fk_discovered_macs_machine_id"), ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("mac", name=op.f("pk_discovered_macs")),
    )
    op.create_index(op.f("ix_discovered_macs_machine_id"), "discovered_macs", ["machine_id"])


def downgrade() -> None:
    op.drop_index(op.f("ix_discovered_macs_machine_id"), table_name="discovered_macs")
    op.drop_table("discovered_macs")
    op.drop_index(op.f("ix_discovered_machines_state"), table_name="discovered_machines")
    op.drop_table("discovered_machines")
    op.drop_table("enrollment_rules")

