"""Domain objects <-> plain JSON-able dicts, for the change feed and snapshots."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from metalnet.core.model import (
    AllocationPool,
    ExtraDhcpOpt,
    FixedIP,
    HostRoute,
    Network,
    Port,
    Subnet,
)

Resource = Network | Subnet | Port

KIND_OF = {Network: "network", Subnet: "subnet", Port: "port"}
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
    record["tags"] = list(obj.tags)
    if isinstance(obj, Subnet):
        record["allocation_pools"] = [[p.start, p.end] for p in obj.allocation_pools]
        record["dns_nameservers"] = list(obj.dns_nameservers)
        record["host_routes"] = [[r.destination, r.nexthop] for r in obj.host_routes]
    elif isinstance(obj, Port):
        record["fixed_ips"] = [[f.subnet_id, f.ip_address] for f in obj.fixed_ips]
        record["extra_dhcp_opts"] = [
            [o.opt_name, o.opt_value, o.ip_version] for o in obj.extra_dhcp_opts
        ]
    return record


def from_record(kind: str, record: dict[str, Any]) -> Resource:
    """Rebuild the domain object a :func:`to_record` dict came from.

    :raises KeyError: ``kind`` is not a known resource kind.
    """
    data = dict(record)
    data["created_at"] = _parse_time(data.get("created_at"))
    data["updated_at"] = _parse_time(data.get("updated_at"))
    data["tags"] = tuple(data.get("tags", ()))
    if kind == "network":
        return Network(**data)
    if kind == "subnet":
        data["allocation_pools"] = tuple(AllocationPool(s, e) for s, e in data["allocation_pools"])
        data["dns_nameservers"] = tuple(data["dns_nameservers"])
        data["host_routes"] = tuple(HostRoute(d, n) for d, n in data["host_routes"])
        return Subnet(**data)
    if kind == "port":
        data["fixed_ips"] = tuple(FixedIP(s, ip) for s, ip in data["fixed_ips"])
        data["extra_dhcp_opts"] = tuple(ExtraDhcpOpt(n, v, i) for n, v, i in data["extra_dhcp_opts"])
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
