"""BootView: the in-memory read model the packet path decides from.

It holds every network, subnet, port, boot profile, node and hypervisor, indexed
the way DHCP and boot servers look them up (by MAC, by physical network, by
address; a MAC's owning hypervisor through its node), and is kept
current by applying the change feed in revision order. It never touches the
database: one host feeds it in-process, an agent feeds it over HTTP.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime

from metalnet.core.boot import BootProfile
from metalnet.core.ipam import pool_bounds
from metalnet.core.model import Hypervisor, Instance, Network, Node, Port, Subnet
from metalnet.core.records import Change, Resource


@dataclass(frozen=True, slots=True)
class SubnetInfo:
    """A subnet with the integer forms the packet path compares against."""

    subnet: Subnet
    network_int: int
    broadcast_int: int
    prefixlen: int
    pools: tuple[tuple[int, int], ...] = ()
    """The allocation pools as inclusive integer ranges."""

    @classmethod
    def of(cls, subnet: Subnet) -> SubnetInfo:
        """Precompute the integer bounds of ``subnet`` and of its pools."""
        net = ipaddress.IPv4Network(subnet.cidr)
        return cls(
            subnet,
            int(net.network_address),
            int(net.broadcast_address),
            net.prefixlen,
            tuple(pool_bounds(subnet.allocation_pools)),
        )

    def contains(self, address: int) -> bool:
        """Whether ``address`` is inside the subnet."""
        return self.network_int <= address <= self.broadcast_int


def _oldest_first(resource: Network | Subnet) -> tuple[bool, datetime | None, str]:
    return (resource.created_at is None, resource.created_at, resource.id)


@dataclass
class BootView:
    """Networks, subnets and ports by the keys the packet path uses.

    :ivar revision: the newest feed revision applied.
    """

    revision: int = 0
    networks: dict[str, Network] = field(default_factory=dict)
    subnets: dict[str, SubnetInfo] = field(default_factory=dict)
    ports: dict[str, Port] = field(default_factory=dict)
    profiles: dict[str, BootProfile] = field(default_factory=dict)
    nodes: dict[str, Node] = field(default_factory=dict)
    hypervisors: dict[str, Hypervisor] = field(default_factory=dict)
    _ports_by_mac: dict[str, dict[str, Port]] = field(default_factory=dict)
    _held: dict[str, dict[int, str]] = field(default_factory=dict)
    _node_by_mac: dict[str, Node] = field(default_factory=dict)
    _hypervisor_by_name: dict[str, Hypervisor] = field(default_factory=dict)
    # Built on first use after a network or subnet change, not on every packet.
    _networks_by_physnet: dict[str | None, list[Network]] | None = None
    _subnets_by_network: dict[str, list[SubnetInfo]] | None = None

    # ------------------------------------------------------------------ updates

    def load(self, revision: int, resources: Iterable[Resource]) -> None:
        """Replace the whole content with a snapshot taken at ``revision``."""
        self.networks.clear()
        self.subnets.clear()
        self.ports.clear()
        self.profiles.clear()
        self.nodes.clear()
        self.hypervisors.clear()
        self._ports_by_mac.clear()
        self._held.clear()
        self._node_by_mac.clear()
        self._hypervisor_by_name.clear()
        self._networks_by_physnet = None
        self._subnets_by_network = None
        for resource in resources:
            self._put(resource)
        self.revision = revision

    def apply(self, changes: Iterable[Change]) -> int:
        """Apply feed changes newer than :attr:`revision`, in order; how many applied."""
        applied = 0
        for change in changes:
            if change.revision <= self.revision:
                continue  # already seen (a snapshot overlapping the feed)
            resource = change.resource()
            if resource is None:
                self._remove(change.kind, change.resource_id)
            else:
                self._put(resource)
            self.revision = change.revision
            applied += 1
        return applied

    def _put(self, resource: Resource) -> None:
        if isinstance(resource, Instance):
            return  # nothing on the packet path reads instances
        if isinstance(resource, BootProfile):
            self.profiles[resource.id] = resource
        elif isinstance(resource, Node):
            self._remove_node(resource.id)
            self.nodes[resource.id] = resource
            for node_mac in resource.macs:
                self._node_by_mac[node_mac.mac] = resource
        elif isinstance(resource, Hypervisor):
            self._remove_hypervisor(resource.id)
            self.hypervisors[resource.id] = resource
            self._hypervisor_by_name[resource.name] = resource
        elif isinstance(resource, Network):
            self.networks[resource.id] = resource
            self._networks_by_physnet = None
        elif isinstance(resource, Subnet):
            self.subnets[resource.id] = SubnetInfo.of(resource)
            self._subnets_by_network = None
        else:
            self._remove_port(resource.id)
            self.ports[resource.id] = resource
            # Copy-on-write: boot files are rendered in worker threads that may be
            # iterating the previous mapping of this MAC.
            by_network = dict(self._ports_by_mac.get(resource.mac_address, {}))
            by_network[resource.network_id] = resource
            self._ports_by_mac[resource.mac_address] = by_network
            for fixed in resource.fixed_ips:
                held = self._held.setdefault(fixed.subnet_id, {})
                held[int(ipaddress.IPv4Address(fixed.ip_address))] = resource.id

    def _remove(self, kind: str, resource_id: str) -> None:
        if kind == "network":
            self.networks.pop(resource_id, None)
            self._networks_by_physnet = None
        elif kind == "subnet":
            self.subnets.pop(resource_id, None)
            self._held.pop(resource_id, None)
            self._subnets_by_network = None
        elif kind == "port":
            self._remove_port(resource_id)
        elif kind == "boot_profile":
            self.profiles.pop(resource_id, None)
        elif kind == "node":
            self._remove_node(resource_id)
        elif kind == "hypervisor":
            self._remove_hypervisor(resource_id)

    def _remove_node(self, node_id: str) -> None:
        old = self.nodes.pop(node_id, None)
        for node_mac in old.macs if old else ():
            if self._node_by_mac.get(node_mac.mac) is old:
                del self._node_by_mac[node_mac.mac]

    def _remove_hypervisor(self, hypervisor_id: str) -> None:
        old = self.hypervisors.pop(hypervisor_id, None)
        if old is not None and self._hypervisor_by_name.get(old.name) is old:
            del self._hypervisor_by_name[old.name]

    def _remove_port(self, port_id: str) -> None:
        old = self.ports.pop(port_id, None)
        if old is None:
            return
        current = self._ports_by_mac.get(old.mac_address, {})
        if current.get(old.network_id) is old:
            by_network = {net: port for net, port in current.items() if net != old.network_id}
            if by_network:
                self._ports_by_mac[old.mac_address] = by_network
            else:
                del self._ports_by_mac[old.mac_address]
        for fixed in old.fixed_ips:
            held = self._held.get(fixed.subnet_id, {})
            address = int(ipaddress.IPv4Address(fixed.ip_address))
            if held.get(address) == port_id:
                del held[address]

    # ------------------------------------------------------------------ lookups

    def ports_for_mac(self, mac: str) -> dict[str, Port]:
        """network id -> port, for every network where ``mac`` has a port."""
        return self._ports_by_mac.get(mac, {})

    def node_of(self, mac: str) -> Node | None:
        """The node holding ``mac``, if any."""
        return self._node_by_mac.get(mac)

    def owner_of(self, node: Node) -> Hypervisor | None:
        """The hypervisor serving ``node``'s boot files now, if it has one."""
        if node.effective_owner is None:
            return None
        return self._hypervisor_by_name.get(node.effective_owner)

    def boot_owner_key(self, mac: str) -> tuple[str, int, str, int] | None:
        """(node id, node revision, owner id, owner revision) of ``mac``, or ``None``:
        what a cached boot answer for the MAC depends on besides its port and network."""
        node = self._node_by_mac.get(mac)
        owner = None if node is None else self.owner_of(node)
        if node is None or owner is None:
            return None
        return (node.id, node.revision_number, owner.id, owner.revision_number)

    def is_known(self, mac: str) -> bool:
        """Whether ``mac`` has a port on any network."""
        return mac in self._ports_by_mac

    def networks_on(self, physical_network: str) -> list[Network]:
        """Networks on a physical network, oldest first (shared: callers must not change it)."""
        index = self._networks_by_physnet
        if index is None:
            index = {}
            for network in sorted(self.networks.values(), key=_oldest_first):
                index.setdefault(network.physical_network, []).append(network)
            self._networks_by_physnet = index
        return index.get(physical_network, [])

    def subnets_of(self, network_id: str) -> list[SubnetInfo]:
        """IPv4 subnets of a network, oldest first (shared: callers must not change it)."""
        index = self._subnets_by_network
        if index is None:
            index = {}
            for info in sorted(self.subnets.values(), key=lambda s: _oldest_first(s.subnet)):
                index.setdefault(info.subnet.network_id, []).append(info)
            self._subnets_by_network = index
        return index.get(network_id, [])

    def subnet_containing(self, address: int) -> SubnetInfo | None:
        """The DHCP-enabled subnet whose range holds ``address`` (a relay's giaddr)."""
        best: SubnetInfo | None = None
        for info in self.subnets.values():
            usable = info.subnet.enable_dhcp and info.contains(address)
            if usable and (best is None or info.prefixlen > best.prefixlen):
                best = info
        return best

    def holder_of(self, subnet_id: str, address: int) -> str | None:
        """The id of the port holding ``address`` on the subnet, if any."""
        return self._held.get(subnet_id, {}).get(address)
