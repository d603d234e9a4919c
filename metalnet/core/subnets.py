"""Subnet rules: CIDR, gateway, allocation pools, DNS servers, host routes."""

from __future__ import annotations

import ipaddress
import itertools
from collections.abc import Mapping, Sequence
from typing import Any

from metalnet.core.context import RequestContext
from metalnet.core.model import AllocationPool, HostRoute, Subnet
from metalnet.core.networks import get_network
from metalnet.core.records import to_record
from metalnet.core.repo import UnitOfWork
from metalnet.core.resources import check_revision, new_id, owner_of_new, revised, utc_now
from metalnet.errors import InvalidInput, SubnetInUse, SubnetNotFound

IPv4 = ipaddress.IPv4Address
_UNSET = object()


def get_subnet(uow: UnitOfWork, ctx: RequestContext, subnet_id: str) -> Subnet:
    """The subnet if the caller may see it.

    :raises SubnetNotFound: absent or not visible.
    """
    subnet = uow.subnets.get(subnet_id)
    if subnet is None:
        raise SubnetNotFound(id=subnet_id)
    network = uow.networks.get(subnet.network_id)
    shared = network.shared if network else False
    if not ctx.can_see(subnet.project_id, shared):
        raise SubnetNotFound(id=subnet_id)
    return subnet


def _address(text: str, what: str) -> IPv4:
    try:
        return IPv4(text)
    except ValueError as exc:
        raise InvalidInput(reason=f"{what} '{text}' is not a valid IPv4 address") from exc


def _cidr(text: str) -> ipaddress.IPv4Network:
    try:
        net = ipaddress.ip_network(text, strict=False)
    except ValueError as exc:
        raise InvalidInput(reason=f"'{text}' is not a valid CIDR") from exc
    if not isinstance(net, ipaddress.IPv4Network):
        raise InvalidInput(reason="only ip_version 4 subnets are supported")
    if net.prefixlen > 30:
        raise InvalidInput(reason=f"'{text}': the prefix must be /30 or shorter")
    return net


def default_pools(cidr: ipaddress.IPv4Network, gateway: IPv4 | None) -> list[AllocationPool]:
    """Every host address of ``cidr`` except the gateway, as one or two pools."""
    first, last = int(cidr.network_address) + 1, int(cidr.broadcast_address) - 1
    ranges = [(first, last)]
    if gateway is not None and first <= int(gateway) <= last:
        g = int(gateway)
        ranges = [r for r in ((first, g - 1), (g + 1, last)) if r[0] <= r[1]]
    return [AllocationPool(str(IPv4(a)), str(IPv4(b))) for a, b in ranges]


def _check_pools(
    pools: Sequence[AllocationPool], cidr: ipaddress.IPv4Network, gateway: IPv4 | None
) -> None:
    bounds = []
    for pool in pools:
        start, end = _address(pool.start, "pool start"), _address(pool.end, "pool end")
        if start > end:
            raise InvalidInput(reason=f"allocation pool {pool.start}-{pool.end}: start after end")
        if start not in cidr or end not in cidr:
            raise InvalidInput(
                reason=f"allocation pool {pool.start}-{pool.end} is outside subnet {cidr}"
            )
        if start == cidr.network_address or end == cidr.broadcast_address:
            raise InvalidInput(
                reason=f"allocation pool {pool.start}-{pool.end} includes the network "
                "or broadcast address"
            )
        if gateway is not None and start <= gateway <= end:
            raise InvalidInput(
                reason=f"gateway_ip {gateway} is inside allocation pool {pool.start}-{pool.end}"
            )
        bounds.append((start, end, pool))
    bounds.sort(key=lambda b: b[0])
    for (_, prev_end, prev), (start, _, pool) in itertools.pairwise(bounds):
        if start <= prev_end:
            raise InvalidInput(
                reason=f"allocation pools {prev.start}-{prev.end} and "
                f"{pool.start}-{pool.end} overlap"
            )


def _check_dns(servers: Sequence[str]) -> tuple[str, ...]:
    seen: list[str] = []
    for server in servers:
        canonical = str(_address(server, "dns_nameserver"))
        if canonical in seen:
            raise InvalidInput(reason=f"duplicate nameserver '{server}'")
        seen.append(canonical)
    return tuple(seen)


def _check_routes(routes: Sequence[HostRoute]) -> tuple[HostRoute, ...]:
    checked = []
    for route in routes:
        destination = _cidr(route.destination) if "/" in route.destination else None
        if destination is None:
            raise InvalidInput(reason=f"host route destination '{route.destination}' is not a CIDR")
        nexthop = _address(route.nexthop, "host route nexthop")
        checked.append(HostRoute(str(destination), str(nexthop)))
    if len({r.destination for r in checked}) != len(checked):
        raise InvalidInput(reason="duplicate host route destination")
    return tuple(checked)


def _gateway(value: Any, cidr: ipaddress.IPv4Network) -> IPv4 | None:
    if value is None:
        return None
    if value is _UNSET:
        return cidr.network_address + 1
    gateway = _address(value, "gateway_ip")
    if gateway not in cidr or gateway in (cidr.network_address, cidr.broadcast_address):
        raise InvalidInput(reason=f"gateway_ip {gateway} is not a host address of {cidr}")
    return gateway


def _check_no_overlap(uow: UnitOfWork, subnet: Subnet) -> None:
    cidr = ipaddress.IPv4Network(subnet.cidr)
    for other in uow.subnets.for_network(subnet.network_id):
        if other.id != subnet.id and cidr.overlaps(ipaddress.IPv4Network(other.cidr)):
            raise InvalidInput(
                reason=f"cidr {subnet.cidr} overlaps subnet {other.id} ({other.cidr})"
            )


def create_subnets(
    uow: UnitOfWork, ctx: RequestContext, items: list[Mapping[str, Any]]
) -> list[Subnet]:
    """Create subnets (all or none).

    :raises NetworkNotFound: the network is absent or not visible.
    :raises InvalidInput: a bad cidr, gateway, pool, nameserver or route.
    """
    now = utc_now()
    created = []
    for attrs in items:
        network = get_network(uow, ctx, attrs["network_id"])
        if attrs.get("ip_version", 4) != 4:
            raise InvalidInput(reason="only ip_version 4 subnets are supported")
        cidr = _cidr(attrs["cidr"])
        gateway = _gateway(attrs.get("gateway_ip", _UNSET), cidr)
        pools = attrs.get("allocation_pools")
        pools = default_pools(cidr, gateway) if pools is None else pools
        _check_pools(pools, cidr, gateway)
        subnet = Subnet(
            id=new_id(),
            network_id=network.id,
            project_id=owner_of_new(ctx, attrs),
            cidr=str(cidr),
            name=attrs.get("name", ""),
            description=attrs.get("description", ""),
            gateway_ip=str(gateway) if gateway else None,
            enable_dhcp=attrs.get("enable_dhcp", True),
            allocation_pools=tuple(pools),
            dns_nameservers=_check_dns(attrs.get("dns_nameservers", ())),
            host_routes=_check_routes(attrs.get("host_routes", ())),
            tags=tuple(attrs.get("tags", ())),
            created_at=now,
            updated_at=now,
        )
        _check_no_overlap(uow, subnet)
        uow.subnets.add_many([subnet])
        created.append(subnet)
    for subnet in created:
        uow.record_change("subnet", subnet.id, to_record(subnet))
    return created


def update_subnet(
    uow: UnitOfWork,
    ctx: RequestContext,
    subnet_id: str,
    changes: Mapping[str, Any],
    expected_revision: int | None = None,
) -> Subnet:
    """Change a subnet's mutable attributes (not its cidr or network).

    :raises SubnetNotFound: absent or not visible.
    :raises InvalidInput: a bad gateway, pool, nameserver or route.
    """
    subnet = get_subnet(uow, ctx, subnet_id)
    check_revision(subnet, expected_revision)
    for frozen in ("cidr", "network_id", "ip_version"):
        if frozen in changes and changes[frozen] != getattr(subnet, frozen):
            raise InvalidInput(reason=f"{frozen} of a subnet cannot be changed")
    cidr = ipaddress.IPv4Network(subnet.cidr)
    values = dict(changes)
    gateway = _gateway(values.get("gateway_ip", subnet.gateway_ip), cidr)
    values["gateway_ip"] = str(gateway) if gateway else None
    values["allocation_pools"] = tuple(values.get("allocation_pools", subnet.allocation_pools))
    _check_pools(values["allocation_pools"], cidr, gateway)
    if "dns_nameservers" in values:
        values["dns_nameservers"] = _check_dns(values["dns_nameservers"])
    if "host_routes" in values:
        values["host_routes"] = _check_routes(values["host_routes"])
    updated = revised(subnet, values)
    uow.subnets.update(updated)
    uow.record_change("subnet", updated.id, to_record(updated))
    return updated


def delete_subnet(uow: UnitOfWork, ctx: RequestContext, subnet_id: str) -> None:
    """Delete a subnet that no port holds an address on.

    :raises SubnetInUse: a port holds an address on it.
    """
    subnet = get_subnet(uow, ctx, subnet_id)
    if uow.ports.count_on_subnet(subnet.id):
        raise SubnetInUse(subnet_id=subnet.id)
    uow.subnets.delete(subnet.id)
    uow.record_change("subnet", subnet.id, None)
