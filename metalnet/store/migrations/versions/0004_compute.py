"""compute: hypervisors and heartbeats, nodes and their MACs, instances; changes by resource

Revision ID: 0004
Revises: 0003
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def _revision_columns() -> list[sa.Column]:  # type: ignore[type-arg]
    return [
        sa.Column("revision_number", sa.BigInteger(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=True),
    ]


def upgrade() -> None:
    op.create_table(
        "hypervisors",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("description", sa.String(length=1024), nullable=False),
        sa.Column("boot_address", sa.String(length=64), nullable=False),
        sa.Column("http_boot_url", sa.String(length=1024), nullable=False),
        sa.Column("physical_networks", sa.JSON(), nullable=False),
        sa.Column("dhcp_opts", sa.JSON(), nullable=False),
        *_revision_columns(),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_hypervisors")),
        sa.UniqueConstraint("name", name=op.f("uq_hypervisors_name")),
    )
    op.create_table(
        "hypervisor_heartbeats",
        sa.Column("hypervisor_id", sa.String(length=36), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("view_revision", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["hypervisor_id"], ["hypervisors.id"], ondelete="CASCADE",
            name=op.f("fk_hypervisor_heartbeats_hypervisor_id"),
        ),
        sa.PrimaryKeyConstraint("hypervisor_id", name=op.f("pk_hypervisor_heartbeats")),
    )
    op.create_table(
        "nodes",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("description", sa.String(length=1024), nullable=False),
        sa.Column("boot_profile_id", sa.String(length=36), nullable=True),
        sa.Column("firmware", sa.String(length=16), nullable=False),
        sa.Column("owner", sa.String(length=255), nullable=True),
        sa.Column("effective_owner", sa.String(length=255), nullable=True),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("error_reason", sa.Text(), nullable=False),
        sa.Column("instance_id", sa.String(length=36), nullable=True),
        *_revision_columns(),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_nodes")),
        sa.UniqueConstraint("name", name=op.f("uq_nodes_name")),
    )
    for column in ("boot_profile_id", "owner", "effective_owner", "state"):
        op.create_index(op.f(f"ix_nodes_{column}"), "nodes", [column])
    op.create_table(
        "node_macs",
        sa.Column("node_id", sa.String(length=36), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("mac", sa.String(length=32), nullable=False),
        sa.Column("switch_id", sa.String(length=255), nullable=True),
        sa.Column("port_id", sa.String(length=255), nullable=True),
        sa.ForeignKeyConstraint(
            ["node_id"], ["nodes.id"], ondelete="CASCADE", name=op.f("fk_node_macs_node_id")
        ),
        sa.UniqueConstraint("mac", name=op.f("uq_node_macs_mac")),
    )
    op.create_index(op.f("ix_node_macs_node_id"), "node_macs", ["node_id"])
    op.create_table(
        "instances",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("project_id", sa.String(length=255), nullable=False),
        sa.Column("node_id", sa.String(length=36), nullable=False),
        sa.Column("boot_profile_id", sa.String(length=36), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("fault", sa.Text(), nullable=False),
        sa.Column("ports", sa.JSON(), nullable=False),
        *_revision_columns(),
        sa.ForeignKeyConstraint(["node_id"], ["nodes.id"], name=op.f("fk_instances_node_id")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_instances")),
        sa.UniqueConstraint("node_id", name=op.f("uq_instances_node_id")),
    )
    op.create_index(op.f("ix_instances_project_id"), "instances", ["project_id"])
    op.create_index("ix_changes_resource_id", "changes", ["resource_id"])


def downgrade() -> None:
    op.drop_index("ix_changes_resource_id", table_name="changes")
    op.drop_table("instances")
    op.drop_table("node_macs")
    op.drop_table("nodes")
    op.drop_table("hypervisor_heartbeats")
    op.drop_table("hypervisors")
