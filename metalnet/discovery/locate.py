"""Who holds an address or a lease, from the DHCP lease store and the view.

The discovery endpoint accepts an inventory only from an address that holds a
dynamic lease (or a port's fixed address) on a network this host serves, and the
boot files of an unknown MAC come from the network where it holds its lease.
Both run on the event loop, where the lease store lives.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Collection
from dataclasses import dataclass

from metalnet.core.view import BootView
from metalnet.dhcp.leases import LeaseStore


@dataclass(frozen=True, slots=True)
class Holder:
    """The MAC and network holding an address; ``kind`` is ``lease`` or ``port``."""

    mac: str
    network_id: str
    kind: str


class LeaseLocator:
    """Answers from ``leases`` and ``view`` for the physical networks ``served``."""

    def __init__(self, view: BootView, leases: LeaseStore, served: Collection[str]) -> None:
        self.view = view
        self.leases = leases
        self.served = frozenset(served)

    def _network_of_subnet(self, subnet_id: str) -> str | None:
        info = self.view.subnets.get(subnet_id)
        if info is None:
            return None
        network = self.view.networks.get(info.subnet.network_id)
        if network is None or network.physical_network not in self.served:
            return None
        return network.id

    def network_of(self, mac: str) -> str | None:
        """The network where ``mac`` holds its newest dynamic lease, if any."""
        best = None
        for lease in self.leases.leases():
            if lease.mac == mac and (best is None or lease.expires > best.expires):
                best = lease
        return None if best is None else self._network_of_subnet(best.subnet_id)

    def holder(self, address: str) -> Holder | None:
        """Who holds ``address`` on a served network: a live lease, else a port."""
        try:
            ip = int(ipaddress.IPv4Address(address))
        except ValueError:
            return None
        lease = self.leases.holder(ip)
        if lease is not None and not lease.declined:
            network_id = self._network_of_subnet(lease.subnet_id)
            if network_id is not None:
                return Holder(lease.mac, network_id, "lease")
        for subnet_id, info in self.view.subnets.items():
            if not info.contains(ip):
                continue
            port_id = self.view.holder_of(subnet_id, ip)
            port = self.view.ports.get(port_id) if port_id else None
            if port is not None and self._network_of_subnet(subnet_id) is not None:
                return Holder(port.mac_address, port.network_id, "port")
        return None
