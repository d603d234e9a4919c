"""Domain objects -> Neutron v2.0 response dicts."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from metalnet.core.model import ExtraDhcpOpt, Network, Port, Subnet
from metalnet.core.repo import ListQuery, UnitOfWork


def timestamp(value: datetime | None) -> str | None:
    """Neutron's timestamp form: ``2026-01-06T19:42:21Z``."""
    return value.strftime("%Y-%m-%dT%H:%M:%SZ") if value else None


def render_dhcp_opts(opts: Sequence[ExtraDhcpOpt]) -> list[dict[str, Any]]:
    """DHCP options as ``extra_dhcp_opts`` shows them."""
    return [
        {"opt_name": o.opt_name, "opt_value": o.opt_value, "ip_version": o.ip_version} for o in opts
    ]


def _standard(obj: Network | Subnet | Port) -> dict[str, Any]:
    return {
        "id": obj.id,
        "name": obj.name,
        "description": obj.description,
        "project_id": obj.project_id,
        "tenant_id": obj.project_id,
        "tags": list(obj.tags),
        "revision_number": obj.revision_number,
        "created_at": timestamp(obj.created_at),
        "updated_at": timestamp(obj.updated_at),
    }


def render_networks(uow: UnitOfWork, networks: Sequence[Network]) -> list[dict[str, Any]]:
    """Networks with their subnet ids."""
    subnet_ids: dict[str, list[str]] = {n.id: [] for n in networks}
    if networks:
        query = ListQuery(filters={"network_id": list(subnet_ids)}, sorts=(("created_at", True),))
        for subnet in uow.subnets.list(query):
            subnet_ids[subnet.network_id].append(subnet.id)
    return [
        {
            **_standard(n),
            "admin_state_up": n.admin_state_up,
            "shared": n.shared,
            "status": n.status,
            "mtu": n.mtu,
            "subnets": subnet_ids[n.id],
            "provider:network_type": n.network_type,
            "provider:physical_network": n.physical_network,
            "provider:segmentation_id": n.segmentation_id,
            "unknown_mac_policy": n.unknown_mac_policy,
            "boot_dhcp_opts": render_dhcp_opts(n.boot_dhcp_opts),
            "discovery_profile": n.discovery_profile_id,
            "router:external": False,
            "availability_zone_hints": [],
            "availability_zones": [],
        }
        for n in networks
    ]


def render_subnets(_uow: UnitOfWork, subnets: Sequence[Subnet]) -> list[dict[str, Any]]:
    """Subnets."""
    return [
        {
            **_standard(s),
            "network_id": s.network_id,
            "cidr": s.cidr,
            "ip_version": s.ip_version,
            "gateway_ip": s.gateway_ip,
            "enable_dhcp": s.enable_dhcp,
            "allocation_pools": [{"start": p.start, "end": p.end} for p in s.allocation_pools],
            "dns_nameservers": list(s.dns_nameservers),
            "host_routes": [
                {"destination": r.destination, "nexthop": r.nexthop} for r in s.host_routes
            ],
            "ipv6_ra_mode": None,
            "ipv6_address_mode": None,
            "subnetpool_id": None,
            "service_types": [],
            "segment_id": None,
        }
        for s in subnets
    ]


def render_ports(_uow: UnitOfWork, ports: Sequence[Port]) -> list[dict[str, Any]]:
    """Ports, with the binding and extra_dhcp_opt extension attributes."""
    return [
        {
            **_standard(p),
            "network_id": p.network_id,
            "mac_address": p.mac_address,
            "fixed_ips": [
                {"subnet_id": f.subnet_id, "ip_address": f.ip_address} for f in p.fixed_ips
            ],
            "device_id": p.device_id,
            "device_owner": p.device_owner,
            "admin_state_up": p.admin_state_up,
            "status": p.status,
            "binding:host_id": p.binding_host_id,
            "binding:vnic_type": p.binding_vnic_type,
            "binding:profile": p.binding_profile,
            "binding:vif_type": "other" if p.binding_host_id else "unbound",
            "binding:vif_details": {},
            "extra_dhcp_opts": render_dhcp_opts(p.extra_dhcp_opts),
            "boot_profile": p.boot_profile_id,
            "allowed_address_pairs": [],
            "security_groups": [],
        }
        for p in ports
    ]
