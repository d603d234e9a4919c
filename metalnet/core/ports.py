"""Port rules: MAC unique per network, fixed IPs, extra DHCP options.

A port is created or changed inside one unit of work that first locks the
subnets it takes addresses from, so concurrent creations never pick the same
address; the store's unique constraints back both rules up.
"""

from __future__ import annotations

import functools
import ipaddress
import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from metalnet.core.context import RequestContext
from metalnet.core.dhcp_opts import check_extra_dhcp_opts
from metalnet.core.ipam import choose_addresses
from metalnet.core.mac import canonical_mac, is_unicast
from metalnet.core.model import ExtraDhcpOpt, FixedIP, Network, Port, Subnet
from metalnet.core.networks import get_network
from metalnet.core.profiles import profile_ref_to_id
from metalnet.core.records import to_record
from metalnet.core.repo import UnitOfWork
from metalnet.core.resources import (
    check_admin_only,
    check_revision,
    new_id,
    owner_of_new,
    revised,
    utc_now,
)
from metalnet.errors import (
    InvalidInput,
    IpAddressGenerationFailure,
    IpAddressInUse,
    MacAddressInUse,
    PortNotFound,
)

ADMIN_ONLY = frozenset(
    {"binding_host_id", "binding_profile", "binding_vnic_type", "boot_profile_id"}
)
VNIC_TYPES = frozenset({"normal", "baremetal"})
GENERATED_MAC_PREFIX = "fa:16:3e"


def normalize_mac(text: str) -> str:
    """``AA-BB-CC-DD-EE-FF`` or ``aa:bb:...`` -> ``aa:bb:cc:dd:ee:ff``.

    :raises InvalidInput: not a MAC, or a multicast/broadcast/zero address.
    """
    try:
        mac = canonical_mac(text)
    except ValueError:
        raise InvalidInput(reason=f"'{text}' is not a valid MAC address") from None
    if not is_unicast(mac):
        raise InvalidInput(reason=f"'{text}' is not a valid unicast MAC address")
    return mac


def generate_mac() -> str:
    """A random MAC under the locally administered prefix ``fa:16:3e``."""
    tail = random.getrandbits(24)
    return f"{GENERATED_MAC_PREFIX}:{tail >> 16:02x}:{(tail >> 8) & 0xFF:02x}:{tail & 0xFF:02x}"


def get_port(uow: UnitOfWork, ctx: RequestContext, port_id: str) -> Port:
    """The port if the caller may see it.

    :raises PortNotFound: absent or not visible.
    """
    port = uow.ports.get(port_id)
    if port is None or not ctx.can_see(port.project_id):
        raise PortNotFound(id=port_id)
    return port


def merge_opts(
    current: Sequence[ExtraDhcpOpt], updates: Sequence[Mapping[str, Any]]
) -> tuple[ExtraDhcpOpt, ...]:
    """Neutron's update rule: entries replace by name; ``opt_value: null`` deletes.

    :raises InvalidInput: a name or value metalnet cannot send.
    """
    merged = {(o.opt_name, o.ip_version): o for o in current}
    for entry in updates:
        key = (entry.get("opt_name"), entry.get("ip_version", 4))
        if entry.get("opt_value") is None:
            merged.pop(key, None)  # type: ignore[arg-type]
        else:
            (opt,) = check_extra_dhcp_opts([entry])
            merged[(opt.opt_name, opt.ip_version)] = opt
    return tuple(merged.values())


@dataclass
class _Wanted:
    """A port's address request before allocation: explicit or 'any on subnet'."""

    port_index: int
    subnet: Subnet | None
    ip: ipaddress.IPv4Address | None


class _AddressPlanner:
    """Resolves fixed_ips requests of a batch of ports within one unit of work."""

    def __init__(self, uow: UnitOfWork) -> None:
        self.uow = uow
        self.locked: set[str] = set()
        self.taken: dict[str, set[int]] = {}

    def _lock(self, subnet: Subnet) -> set[int]:
        if subnet.id not in self.locked:
            self.uow.subnets.lock(subnet.id)
            self.locked.add(subnet.id)
        return self.taken.setdefault(subnet.id, set())

    def subnet_for(self, network: Network, entry: Mapping[str, Any]) -> Subnet:
        subnets = self.uow.subnets.for_network(network.id)
        if "subnet_id" in entry:
            for subnet in subnets:
                if subnet.id == entry["subnet_id"]:
                    return subnet
            raise InvalidInput(
                reason=f"subnet {entry['subnet_id']} is not on network {network.id}"
            )
        ip = _parse_ip(entry["ip_address"])
        for subnet in subnets:
            if ip in ipaddress.IPv4Network(subnet.cidr):
                return subnet
        raise InvalidInput(reason=f"no subnet of network {network.id} contains {ip}")

    def claim(self, network: Network, subnet: Subnet, ip: ipaddress.IPv4Address) -> FixedIP:
        cidr = ipaddress.IPv4Network(subnet.cidr)
        if ip not in cidr:
            raise InvalidInput(reason=f"IP address {ip} is not in subnet {subnet.cidr}")
        if ip in (cidr.network_address, cidr.broadcast_address):
            raise InvalidInput(reason=f"IP address {ip} is the network or broadcast address")
        if subnet.gateway_ip and str(ip) == subnet.gateway_ip:
            raise IpAddressInUse(net_id=network.id, ip_address=str(ip))
        taken = self._lock(subnet)
        number = int(ip)
        if number in taken or self.uow.ports.ips_in_use(subnet.id, number, number):
            raise IpAddressInUse(net_id=network.id, ip_address=str(ip))
        taken.add(number)
        return FixedIP(subnet.id, str(ip))

    def allocate(self, network: Network, subnets: Sequence[Subnet], count: int) -> list[FixedIP]:
        """``count`` addresses from the first subnets with free pool space."""
        found: list[FixedIP] = []
        for subnet in subnets:
            taken = self._lock(subnet)
            addresses = choose_addresses(
                subnet.allocation_pools,
                count - len(found),
                functools.partial(self.uow.ports.ips_in_use, subnet.id),
                functools.partial(self.uow.ports.highest_ip_in_use, subnet.id),
                taken,
            )
            found.extend(FixedIP(subnet.id, a) for a in addresses)
            if len(found) == count:
                return found
        raise IpAddressGenerationFailure(net_id=network.id)

    def plan(
        self, network: Network, requests: Sequence[Sequence[Mapping[str, Any]] | None]
    ) -> list[list[FixedIP]]:
        """Addresses for each port of one network (``None`` means "one, anywhere")."""
        result: list[list[FixedIP]] = [[] for _ in requests]
        wants: list[_Wanted] = []
        for index, entries in enumerate(requests):
            if entries is None:
                wants.append(_Wanted(index, None, None))
                continue
            for entry in entries:
                if "subnet_id" not in entry and "ip_address" not in entry:
                    raise InvalidInput(reason="fixed_ips entries need subnet_id or ip_address")
                subnet = self.subnet_for(network, entry)
                ip = _parse_ip(entry["ip_address"]) if "ip_address" in entry else None
                wants.append(_Wanted(index, subnet, ip))
        for want in wants:
            if want.ip is not None and want.subnet is not None:
                result[want.port_index].append(self.claim(network, want.subnet, want.ip))
        self._allocate_groups(network, wants, result)
        return result

    def _allocate_groups(
        self, network: Network, wants: list[_Wanted], result: list[list[FixedIP]]
    ) -> None:
        groups: dict[str | None, list[_Wanted]] = {}
        for want in wants:
            if want.ip is None:
                groups.setdefault(want.subnet.id if want.subnet else None, []).append(want)
        for subnet_id, members in groups.items():
            if subnet_id is None:
                subnets = [s for s in self.uow.subnets.for_network(network.id) if s.ip_version == 4]
                if not subnets:
                    continue  # a network without subnets: ports get no address
            else:
                subnets = [s for s in self.uow.subnets.for_network(network.id) if s.id == subnet_id]
            for want, fixed in zip(
                members, self.allocate(network, subnets, len(members)), strict=True
            ):
                result[want.port_index].append(fixed)


def _parse_ip(text: Any) -> ipaddress.IPv4Address:
    try:
        return ipaddress.IPv4Address(text)
    except ValueError as exc:
        raise InvalidInput(reason=f"'{text}' is not a valid IPv4 address") from exc


def _check_unique_fixed(entries: Sequence[Mapping[str, Any]] | None) -> None:
    if entries is None:
        return
    explicit = [e["ip_address"] for e in entries if "ip_address" in e]
    if len(set(explicit)) != len(explicit):
        raise InvalidInput(reason="duplicate IP address in fixed_ips")


def _check_vnic(attrs: Mapping[str, Any]) -> None:
    vnic = attrs.get("binding_vnic_type", "normal")
    if vnic not in VNIC_TYPES:
        raise InvalidInput(reason=f"binding:vnic_type '{vnic}' is not one of normal, baremetal")


def _claim_macs(uow: UnitOfWork, network_id: str, macs: list[str]) -> None:
    seen: set[str] = set()
    for mac in macs:
        if mac in seen:
            raise MacAddressInUse(net_id=network_id, mac=mac)
        seen.add(mac)
    clash = uow.ports.macs_in_use(network_id, macs)
    if clash:
        raise MacAddressInUse(net_id=network_id, mac=sorted(clash)[0])


def create_ports(
    uow: UnitOfWork, ctx: RequestContext, items: list[Mapping[str, Any]]
) -> list[Port]:
    """Create ports, all or none: MACs checked, addresses claimed or allocated.

    :raises NetworkNotFound: a network is absent or not visible.
    :raises MacAddressInUse: a MAC already has a port on the network (or twice in the batch).
    :raises IpAddressInUse: a requested address is held.
    :raises IpAddressGenerationFailure: the pools are exhausted.
    :raises InvalidInput: a bad MAC, address, vnic type or DHCP option.
    """
    now = utc_now()
    planner = _AddressPlanner(uow)
    by_network: dict[str, list[int]] = {}
    networks: dict[str, Network] = {}
    prepared: list[dict[str, Any]] = []
    for index, attrs in enumerate(items):
        check_admin_only(ctx, "port", attrs, ADMIN_ONLY)
        _check_vnic(attrs)
        network = networks.get(attrs["network_id"]) or get_network(uow, ctx, attrs["network_id"])
        networks[network.id] = network
        fields = dict(attrs)
        fields["project_id"] = owner_of_new(ctx, attrs)
        fields["mac_address"] = (
            normalize_mac(attrs["mac_address"]) if attrs.get("mac_address") else generate_mac()
        )
        fields["extra_dhcp_opts"] = check_extra_dhcp_opts(attrs.get("extra_dhcp_opts", ()))
        profile_ref_to_id(uow, fields, "boot_profile_id")
        _check_unique_fixed(attrs.get("fixed_ips"))
        prepared.append(fields)
        by_network.setdefault(network.id, []).append(index)
    for network_id, indexes in by_network.items():
        _claim_macs(uow, network_id, [prepared[i]["mac_address"] for i in indexes])
        planned = planner.plan(networks[network_id], [items[i].get("fixed_ips") for i in indexes])
        for i, fixed in zip(indexes, planned, strict=True):
            prepared[i]["fixed_ips"] = tuple(fixed)
    ports = [
        Port(
            **{**fields, "tags": tuple(fields.get("tags", ()))},
            id=new_id(),
            status="ACTIVE" if fields.get("admin_state_up", True) else "DOWN",
            created_at=now,
            updated_at=now,
        )
        for fields in prepared
    ]
    uow.ports.add_many(ports)
    for port in ports:
        uow.record_change("port", port.id, to_record(port))
    return ports


def update_port(
    uow: UnitOfWork,
    ctx: RequestContext,
    port_id: str,
    changes: Mapping[str, Any],
    expected_revision: int | None = None,
) -> Port:
    """Change a port: MAC (still unique), addresses, DHCP options (merged), binding.

    :raises PortNotFound: absent or not visible.
    :raises MacAddressInUse: the new MAC has a port on the network.
    :raises IpAddressInUse: a requested address is held by another port.
    """
    port = get_port(uow, ctx, port_id)
    check_revision(port, expected_revision)
    check_admin_only(ctx, "port", changes, ADMIN_ONLY)
    _check_vnic({"binding_vnic_type": changes.get("binding_vnic_type", port.binding_vnic_type)})
    if "network_id" in changes and changes["network_id"] != port.network_id:
        raise InvalidInput(reason="network_id of a port cannot be changed")
    values = dict(changes)
    profile_ref_to_id(uow, values, "boot_profile_id")
    if "mac_address" in values:
        values["mac_address"] = normalize_mac(values["mac_address"])
        if values["mac_address"] != port.mac_address:
            _claim_macs(uow, port.network_id, [values["mac_address"]])
    if "extra_dhcp_opts" in values:
        values["extra_dhcp_opts"] = merge_opts(port.extra_dhcp_opts, values["extra_dhcp_opts"])
    if "fixed_ips" in values:
        values["fixed_ips"] = _replan_fixed_ips(uow, ctx, port, values["fixed_ips"])
    if "admin_state_up" in values:
        values["status"] = "ACTIVE" if values["admin_state_up"] else "DOWN"
    updated = revised(port, values)
    uow.ports.update(updated)
    uow.record_change("port", updated.id, to_record(updated))
    return updated


def _replan_fixed_ips(
    uow: UnitOfWork, ctx: RequestContext, port: Port, entries: Sequence[Mapping[str, Any]]
) -> tuple[FixedIP, ...]:
    """New fixed IPs for a port: kept addresses stay, new ones are claimed."""
    _check_unique_fixed(entries)
    held = {f.ip_address: f for f in port.fixed_ips}
    kept = [held[e["ip_address"]] for e in entries if e.get("ip_address") in held]
    fresh = [e for e in entries if e.get("ip_address") not in held]
    network = get_network(uow, ctx, port.network_id)
    (planned,) = _AddressPlanner(uow).plan(network, [fresh])
    return tuple(kept + planned)


def delete_port(uow: UnitOfWork, ctx: RequestContext, port_id: str) -> None:
    """Delete a port and release its addresses.

    :raises PortNotFound: absent or not visible.
    """
    port = get_port(uow, ctx, port_id)
    uow.ports.delete(port.id)
    uow.record_change("port", port.id, None)
