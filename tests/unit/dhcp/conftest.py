"""Shared pieces of the DHCP unit tests: a fake clock, a view, leases and an engine.

No sockets: requests are built with :mod:`metalnet.wire.dhcp4`, handed to
``DhcpEngine.handle`` and the outcome is inspected.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from metalnet.core.model import AllocationPool, ExtraDhcpOpt, Network, Port, Subnet
from metalnet.core.view import BootView
from metalnet.dhcp.engine import DhcpEngine, Ingress
from metalnet.dhcp.leases import LeaseStore
from metalnet.dhcp.sightings import SightingBook
from metalnet.wire.dhcp4 import Options, Packet
from tests.factories import make_network, make_port, make_subnet

SERVER_IP = "198.18.10.1"
T0 = 1_700_000_000.0


class FakeClock:
    """Seconds since the epoch, moved only by :meth:`advance`."""

    def __init__(self, now: float = T0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


def ip(text: str) -> int:
    return int(ipaddress.IPv4Address(text))


def mac_bytes(mac: str) -> bytes:
    return bytes.fromhex(mac.replace(":", ""))


def request(
    mac: str,
    message_type: int | None,
    *,
    xid: int = 0x1234,
    options: dict[int, bytes] | None = None,
    **fields: Any,
) -> Packet:
    """A BOOTREQUEST from ``mac`` with option 53 (unless None) and ``options``."""
    items: dict[int, bytes] = {} if message_type is None else {53: bytes([message_type])}
    items.update(options or {})
    fields.setdefault("op", 1)
    return Packet(xid=xid, chaddr=mac_bytes(mac), options=Options(items), **fields)


@dataclass
class Bench:
    """An engine over a view with one network ``ctl`` (198.18.10.0/24, pool .100-.103)
    and one registered port (198.18.10.21, pxelinux.0 from 198.18.10.1)."""

    clock: FakeClock
    view: BootView
    leases: LeaseStore
    sightings: SightingBook
    engine: DhcpEngine
    network: Network
    subnet: Subnet
    port: Port
    ingress: Ingress
    revision: int = 1

    def put(self, *resources: Network | Subnet | Port) -> None:
        """Replace resources in the view (a fresh snapshot with them swapped in)."""
        current: dict[str, Network | Subnet | Port] = {
            **self.view.networks, **{k: v.subnet for k, v in self.view.subnets.items()},
            **self.view.ports}
        for resource in resources:
            current[resource.id] = resource
        self.revision += 1
        self.view.load(self.revision, current.values())

    def policy(self, policy: str) -> None:
        from dataclasses import replace

        self.network = replace(self.network, unknown_mac_policy=policy,
                               revision_number=self.network.revision_number + 1)
        self.put(self.network)

    def handle(self, packet: Packet, proxy: bool = False) -> Any:
        ingress = self.ingress if not proxy else Ingress("br0", "ctl", ip(SERVER_IP), True)
        return self.engine.handle(packet, ingress, packet.mac)


REGISTERED = "52:54:00:aa:bb:01"


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def bench(tmp_path: Path, clock: FakeClock) -> Iterator[Bench]:
    network = make_network(physical_network="ctl", unknown_mac_policy="pool")
    subnet = make_subnet(
        network.id, "198.18.10.0/24", dns_nameservers=("198.18.10.53",),
        allocation_pools=(AllocationPool("198.18.10.100", "198.18.10.103"),))
    port = make_port(
        network.id, (subnet.id, "198.18.10.21"), mac_address=REGISTERED,
        extra_dhcp_opts=(ExtraDhcpOpt("bootfile-name", "pxelinux.0"),
                         ExtraDhcpOpt("server-ip-address", SERVER_IP)))
    view = BootView()
    view.load(1, [network, subnet, port])
    leases = LeaseStore(tmp_path / "leases.journal", clock)
    sightings = SightingBook()
    engine = DhcpEngine(view, leases, sightings, clock, lease_time=3600)
    yield Bench(clock, view, leases, sightings, engine, network, subnet, port,
                Ingress("br0", "ctl", ip(SERVER_IP)))
    leases.close()
