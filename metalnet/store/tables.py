"""Database tables (SQLAlchemy Core). The migrations create exactly these.

Tags are kept in one text column as ``,a,b,`` (Neutron tags may not contain
commas), so tag filters are plain ``LIKE`` on SQLite and PostgreSQL alike.
Addresses are stored as text and as an integer (``ip_int``) for range scans.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
)
from sqlalchemy.types import TypeDecorator


class UtcDateTime(TypeDecorator[datetime]):
    """A point in time, read back as an aware UTC datetime on every backend.

    SQLite keeps no zone and gives naive values back; PostgreSQL gives them in the
    session's zone. Values are stored as UTC (a naive one is taken as UTC already).
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        return None if value is None else _utc(value)

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        return None if value is None else _utc(value)


def _utc(value: datetime) -> datetime:
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value.astimezone(UTC)

metadata = MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_name)s",
        "uq": "uq_%(table_name)s_%(column_0_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s",
        "pk": "pk_%(table_name)s",
    }
)


def _standard_columns() -> list[Column[object]]:
    return [
        Column("project_id", String(255), nullable=False, index=True),
        Column("name", String(255), nullable=False, default=""),
        Column("description", String(1024), nullable=False, default=""),
        Column("tags", Text, nullable=False, default=""),
        Column("revision_number", BigInteger, nullable=False, default=0),
        Column("created_at", UtcDateTime()),
        Column("updated_at", UtcDateTime()),
    ]


networks = Table(
    "networks",
    metadata,
    Column("id", String(36), primary_key=True),
    *_standard_columns(),
    Column("admin_state_up", Boolean, nullable=False),
    Column("shared", Boolean, nullable=False),
    Column("status", String(16), nullable=False),
    Column("mtu", Integer, nullable=False),
    Column("network_type", String(16), nullable=False),
    Column("physical_network", String(64)),
    Column("segmentation_id", Integer),
    Column("unknown_mac_policy", String(32), nullable=False),
    Column("boot_dhcp_opts", JSON, nullable=False, default=list),
    Column("discovery_profile_id", String(36), index=True),
)

subnets = Table(
    "subnets",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("network_id", String(36), ForeignKey("networks.id"), nullable=False, index=True),
    *_standard_columns(),
    Column("cidr", String(64), nullable=False),
    Column("ip_version", Integer, nullable=False),
    Column("gateway_ip", String(64)),
    Column("enable_dhcp", Boolean, nullable=False),
    Column("allocation_pools", JSON, nullable=False),
    Column("dns_nameservers", JSON, nullable=False),
    Column("host_routes", JSON, nullable=False),
)

ports = Table(
    "ports",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("network_id", String(36), ForeignKey("networks.id"), nullable=False),
    *_standard_columns(),
    Column("mac_address", String(32), nullable=False, index=True),
    Column("device_id", String(255), nullable=False),
    Column("device_owner", String(255), nullable=False),
    Column("binding_host_id", String(255), nullable=False),
    Column("binding_vnic_type", String(32), nullable=False),
    Column("binding_profile", JSON, nullable=False),
    Column("extra_dhcp_opts", JSON, nullable=False),
    Column("boot_profile_id", String(36), index=True),
    Column("admin_state_up", Boolean, nullable=False),
    Column("status", String(16), nullable=False),
    UniqueConstraint("network_id", "mac_address", name="uq_ports_network_mac"),
)

ip_allocations = Table(
    "ip_allocations",
    metadata,
    Column("port_id", String(36), ForeignKey("ports.id", ondelete="CASCADE"), nullable=False),
    Column("subnet_id", String(36), ForeignKey("subnets.id"), nullable=False),
    Column("position", Integer, nullable=False),
    Column("ip_address", String(64), nullable=False, index=True),
    Column("ip_int", BigInteger, nullable=False),
    UniqueConstraint("subnet_id", "ip_int", name="uq_ip_allocations_subnet_ip"),
    Index("ix_ip_allocations_port", "port_id"),
)

changes = Table(
    "changes",
    metadata,
    Column("revision", BigInteger().with_variant(Integer, "sqlite"), primary_key=True,
           autoincrement=True),
    Column("kind", String(32), nullable=False),
    Column("resource_id", String(36), nullable=False),
    Column("body", JSON),
    Column("changed_at", UtcDateTime(), nullable=False),
    sqlite_autoincrement=True,
)

tokens = Table(
    "tokens",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("token_hash", String(128), nullable=False, unique=True),
    Column("project_id", String(255), nullable=False),
    Column("is_admin", Boolean, nullable=False),
    Column("description", String(255), nullable=False, default=""),
    Column("created_at", UtcDateTime(), nullable=False),
)

sightings = Table(
    "sightings",
    metadata,
    Column("mac", String(32), primary_key=True),
    Column("network_id", String(36)),
    Column("first_seen", UtcDateTime(), nullable=False),
    Column("last_seen", UtcDateTime(), nullable=False),
    Column("count", BigInteger, nullable=False),
    Column("vendor_class", String(255)),
    Column("client_arch", Integer),
    Column("user_class", String(255)),
    Column("giaddr", String(64)),
    Column("relay_circuit_id", String(255)),
    Column("relay_remote_id", String(255)),
    Column("policy", String(32), nullable=False),
)

boot_profiles = Table(
    "boot_profiles",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("name", String(63), nullable=False, unique=True),
    Column("project_id", String(255), nullable=False),
    Column("description", String(1024), nullable=False, default=""),
    Column("kernel", Text),
    Column("initrds", JSON, nullable=False),
    Column("cmdline", Text, nullable=False, default=""),
    Column("script", Text),
    Column("chain_url", Text),
    Column("revision_number", BigInteger, nullable=False, default=0),
    Column("created_at", UtcDateTime()),
    Column("updated_at", UtcDateTime()),
)

# --- compute (migration 0004) ---------------------------------------------------

hypervisors = Table(
    "hypervisors",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("name", String(255), nullable=False, unique=True),
    Column("description", String(1024), nullable=False, default=""),
    Column("boot_address", String(64), nullable=False),
    Column("http_boot_url", String(1024), nullable=False, default=""),
    Column("physical_networks", JSON, nullable=False),
    Column("dhcp_opts", JSON, nullable=False),
    Column("revision_number", BigInteger, nullable=False, default=0),
    Column("created_at", UtcDateTime()),
    Column("updated_at", UtcDateTime()),
)

hypervisor_heartbeats = Table(
    "hypervisor_heartbeats",
    metadata,
    Column("hypervisor_id", String(36), ForeignKey("hypervisors.id", ondelete="CASCADE"),
           primary_key=True),
    Column("at", UtcDateTime(), nullable=False),
    Column("view_revision", BigInteger, nullable=False, default=0),
)

nodes = Table(
    "nodes",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("name", String(255), nullable=False, unique=True),
    Column("description", String(1024), nullable=False, default=""),
    Column("boot_profile_id", String(36), index=True),
    Column("firmware", String(16), nullable=False),
    Column("owner", String(255), index=True),
    Column("effective_owner", String(255), index=True),
    Column("state", String(16), nullable=False, index=True),
    Column("error_reason", Text, nullable=False, default=""),
    Column("instance_id", String(36)),
    Column("revision_number", BigInteger, nullable=False, default=0),
    Column("created_at", UtcDateTime()),
    Column("updated_at", UtcDateTime()),
)

node_macs = Table(
    "node_macs",
    metadata,
    Column("node_id", String(36), ForeignKey("nodes.id", ondelete="CASCADE"), nullable=False,
           index=True),
    Column("position", Integer, nullable=False),
    Column("mac", String(32), nullable=False, unique=True),
    Column("switch_id", String(255)),
    Column("port_id", String(255)),
)

instances = Table(
    "instances",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("name", String(255), nullable=False, default=""),
    Column("project_id", String(255), nullable=False, index=True),
    Column("node_id", String(36), ForeignKey("nodes.id"), nullable=False, unique=True),
    Column("boot_profile_id", String(36)),
    Column("status", String(16), nullable=False),
    Column("fault", Text, nullable=False, default=""),
    Column("ports", JSON, nullable=False),
    Column("revision_number", BigInteger, nullable=False, default=0),
    Column("created_at", UtcDateTime()),
    Column("updated_at", UtcDateTime()),
)

# Readiness asks for the newest change of an instance's resources.
Index("ix_changes_resource_id", changes.c.resource_id)

# ---------------------------------------------------------------------- discovery (0005)

enrollment_rules = Table(
    "enrollment_rules",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("name", String(63), nullable=False, unique=True),
    Column("description", String(1024), nullable=False, default=""),
    Column("priority", Integer, nullable=False),
    Column("enabled", Boolean, nullable=False),
    Column("conditions", JSON, nullable=False),
    Column("actions", JSON, nullable=False),
    Column("created_at", UtcDateTime()),
    Column("updated_at", UtcDateTime()),
)

discovered_machines = Table(
    "discovered_machines",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("state", String(16), nullable=False, index=True),
    Column("name", String(255)),
    Column("boot_mac", String(32), nullable=False),
    Column("network_id", String(36)),
    Column("source_ip", String(64)),
    Column("inventory", JSON, nullable=False),
    Column("sighting", JSON),
    Column("rule_id", String(36)),
    Column("node_id", String(36)),
    Column("port_ids", JSON, nullable=False),
    Column("owner", String(255)),
    Column("boot_profile_id", String(36)),
    Column("attributes", JSON, nullable=False),
    Column("reports", BigInteger, nullable=False),
    Column("first_seen", UtcDateTime(), nullable=False),
    Column("last_seen", UtcDateTime(), nullable=False),
)

discovered_macs = Table(
    "discovered_macs",
    metadata,
    Column("mac", String(32), primary_key=True),
    Column("machine_id", String(36), ForeignKey("discovered_machines.id", ondelete="CASCADE"),
           nullable=False, index=True),
)
