"""Domain objects <-> plain JSON-able dicts, for the change feed and snapshots."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from metalnet.core.boot import BootProfile
from metalnet.core.model import (
    AllocationPool,
    ExtraDhcpOpt,
    FixedIP,
    HostRoute,
    Hypervisor,
    Instance,
    InstancePort,
    Network,
    Node,
    NodeMac,
    Port,
    Subnet,
)

Tagged = Network | Subnet | Port
"""Resources with Neutron's standard attributes (tags)."""
Resource = Tagged | BootProfile | Hypervisor | Node | Instance

KIND_OF = {
    Network: "network",
    Subnet: "subnet",
    Port: "port",
    BootProfile: "boot_profile",
    Hypervisor: "hypervisor",
    Node: "node",
    Instance: "instance",
}
"""The feed's name for each resource type."""


def _time(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def _parse_time(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


def to_record(obj: Resource) -> dict[str, Any]:
    """A JSON-able dict of every field of ``obj``."""
    record: dict[str, Any] = {name: getattr(obj, name) for name in obj.__dataclass_fields__}
    record["created_at"] = _time(obj.created_at)
    record["updated_at"] = _time(obj.updated_at)
    if isinstance(obj, Tagged):
        record["tags"] = list(obj.tags)
    if isinstance(obj, Subnet):
        record["allocation_pools"] = [[p.start, p.end] for p in obj.allocation_pools]
        record["dns_nameservers"] = list(obj.dns_nameservers)
        record["host_routes"] = [[r.destination, r.nexthop] for r in obj.host_routes]
    elif isinstance(obj, Port):
        record["fixed_ips"] = [[f.subnet_id, f.ip_address] for f in obj.fixed_ips]
        record["extra_dhcp_opts"] = opts_to_rows(obj.extra_dhcp_opts)
    elif isinstance(obj, Network):
        record["boot_dhcp_opts"] = opts_to_rows(obj.boot_dhcp_opts)
    elif isinstance(obj, BootProfile):
        record["initrds"] = list(obj.initrds)
    elif isinstance(obj, Hypervisor):
        record["physical_networks"] = list(obj.physical_networks)
        record["dhcp_opts"] = opts_to_rows(obj.dhcp_opts)
    elif isinstance(obj, Node):
        record["macs"] = [[m.mac, m.switch_id, m.port_id] for m in obj.macs]
    elif isinstance(obj, Instance):
        record["ports"] = [instance_port_record(p) for p in obj.ports]
    return record


def instance_port_record(port: InstancePort) -> list[object]:
    """An instance's port as a JSON-able row (``InstancePort(*row)`` rebuilds it)."""
    return [
        port.port_id,
        port.network_id,
        port.mac,
        port.created,
        port.physical_network,
        port.switch_id,
        port.switch_port,
        port.vlan,
    ]


def opts_to_rows(opts: Sequence[ExtraDhcpOpt]) -> list[list[Any]]:
    """DHCP option entries as ``[name, value, ip_version]`` rows (feed and database)."""
    return [[o.opt_name, o.opt_value, o.ip_version] for o in opts]


def opts_from_rows(rows: Sequence[Sequence[Any]]) -> tuple[ExtraDhcpOpt, ...]:
    """The inverse of :func:`opts_to_rows`."""
    return tuple(ExtraDhcpOpt(n, v, i) for n, v, i in rows)


def from_record(kind: str, record: dict[str, Any]) -> Resource:
    """Rebuild the domain object a :func:`to_record` dict came from.

    :raises KeyError: ``kind`` is not a known resource kind.
    """
    data = dict(record)
    data["created_at"] = _parse_time(data.get("created_at"))
    data["updated_at"] = _parse_time(data.get("updated_at"))
    if kind == "hypervisor":
        data["physical_networks"] = tuple(data["physical_networks"])
        data["dhcp_opts"] = opts_from_rows(data["dhcp_opts"])
        return Hypervisor(**data)
    if kind == "node":
        data["macs"] = tuple(NodeMac(*m) for m in data["macs"])
        return Node(**data)
    if kind == "instance":
        data["ports"] = tuple(InstancePort(*p) for p in data["ports"])
        return Instance(**data)
    if kind == "boot_profile":
        data["initrds"] = tuple(data["initrds"])
        return BootProfile(**data)
    data["tags"] = tuple(data.get("tags", ()))
    if kind == "network":
        data["boot_dhcp_opts"] = opts_from_rows(data.get("boot_dhcp_opts", []))
        return Network(**data)
    if kind == "subnet":
        data["allocation_pools"] = tuple(AllocationPool(s, e) for s, e in data["allocation_pools"])
        data["dns_nameservers"] = tuple(data["dns_nameservers"])
        data["host_routes"] = tuple(HostRoute(d, n) for d, n in data["host_routes"])
        return Subnet(**data)
    if kind == "port":
        data["fixed_ips"] = tuple(FixedIP(s, ip) for s, ip in data["fixed_ips"])
        data["extra_dhcp_opts"] = opts_from_rows(data["extra_dhcp_opts"])
        return Port(**data)
    raise KeyError(kind)


@dataclass(frozen=True, slots=True)
class Change:
    """One entry of the change feed: a resource's new state, or ``None`` when deleted."""

    revision: int
    kind: str
    resource_id: str
    body: dict[str, Any] | None

    def resource(self) -> Resource | None:
        """The changed resource, or ``None`` for a deletion."""
        return None if self.body is None else from_record(self.kind, self.body)
