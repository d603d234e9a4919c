"""CPU cost of metalnet's DHCP packet path in one process, without sockets.

Replays perfdhcp-like relayed exchanges (DISCOVER, then REQUEST for the offered
address) through ``DhcpServer.handle_batch`` in batches, as the server does after
draining its socket: decode, prioritise, decide, one journal write + fsync per
batch with lease changes, encode. ``sendto`` goes to a fake socket, so the figure
leaves out the event loop and the socket system calls (see docs/dhcp-packet-path.md).

    .venv/bin/python bench/dhcp_path.py                 # registered (10,000 ports) and pool
    .venv/bin/python bench/dhcp_path.py --ports 50000 --exchanges 100000 --scenario registered
    .venv/bin/python bench/dhcp_path.py --profile out.prof   # cProfile of the registered run

The journal lives in a temp dir on the same file system as /tmp (fsync is real).
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import sys
import tempfile
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.dhcp_setup import (
    CIDR,
    FIRST_FIXED,
    POOL_END_DYNAMIC,
    POOL_START,
    SERVER,
    UNKNOWN_BASE,
    ip_of,
    mac_of,
)
from metalnet.boot.defaults import boot_defaults_for
from metalnet.core.model import AllocationPool, FixedIP, Network, Port, Subnet
from metalnet.core.view import BootView
from metalnet.dhcp.engine import DhcpEngine, Ingress
from metalnet.dhcp.leases import LeaseStore
from metalnet.dhcp.server import DhcpServer
from metalnet.dhcp.sightings import SightingBook
from metalnet.wire.dhcp4 import Packet
from metalnet.wire.dhcp4.options import Options

RELAY = 0xC6120002  # 198.18.0.2, perfdhcp's giaddr
SERVER_INT = 0xC6120001
PRL = bytes((1, 28, 2, 3, 15, 6, 12))  # perfdhcp's parameter request list


class FakeSocket:
    """Keeps what would be sent; :meth:`until_sent` waits for a number of datagrams."""

    def __init__(self) -> None:
        self.sent: list[bytes] = []
        self._wanted = 0
        self._arrived: asyncio.Future[None] | None = None

    def sendto(self, data: bytes, _address: tuple[str, int]) -> int:
        self.sent.append(data)
        if self._arrived is not None and len(self.sent) >= self._wanted:
            self._arrived.set_result(None)
            self._arrived = None
        return len(data)

    async def until_sent(self, count: int) -> None:
        """Return once ``count`` datagrams were sent (ACKs wait for the journal): the
        loop sleeps meanwhile, so the wait adds no CPU to the figure."""
        if len(self.sent) < count:
            self._wanted = count
            self._arrived = asyncio.get_running_loop().create_future()
            await asyncio.wait_for(self._arrived, 30)


def build_view(ports: int, policy: str) -> BootView:
    network = Network(id=str(uuid.uuid4()), project_id="bench", name="dhcp-bench",
                      physical_network="ctl", unknown_mac_policy=policy)
    pool_end = POOL_END_DYNAMIC if policy == "pool" else "198.18.255.254"
    subnet = Subnet(id=str(uuid.uuid4()), network_id=network.id, project_id="bench", cidr=CIDR,
                    gateway_ip=SERVER, allocation_pools=(AllocationPool(POOL_START, pool_end),))
    view = BootView()
    view.load(1, [network, subnet, *(
        Port(id=str(uuid.uuid4()), network_id=network.id, project_id="bench",
             mac_address=mac_of(i), fixed_ips=(FixedIP(subnet.id, ip_of(i)),))
        for i in range(ports)
    )])
    return view


def request(mac: str, xid: int, kind: int, offered: int = 0) -> bytes:
    """A relayed DISCOVER (kind 1) or REQUEST (kind 3) as perfdhcp sends it."""
    chaddr = bytes.fromhex(mac.replace(":", ""))
    options: dict[int, bytes] = {53: bytes((kind,))}
    if kind == 3:
        options[50] = offered.to_bytes(4, "big")
        options[54] = SERVER_INT.to_bytes(4, "big")
    options[55] = PRL
    options[61] = b"\x01" + chaddr
    return Packet(op=1, hops=1, xid=xid, giaddr=RELAY, chaddr=chaddr,
                  options=Options(options)).to_wire()


async def run(scenario: str, ports: int, exchanges: int, batch: int, journal_dir: Path) -> float:
    """Microseconds of CPU per 4-way exchange (two requests, two replies).

    CPU is the whole process's (the journal thread's writes and fsyncs included).
    """
    policy = "pool" if scenario == "pool" else "ignore"
    view = build_view(ports if scenario == "registered" else 0, policy)
    leases = LeaseStore(journal_dir / f"{scenario}.journal", time.time)
    # The boot options `metalnet serve` falls back on (TFTP/HTTP of this host per firmware).
    engine = DhcpEngine(view, leases, SightingBook(), time.time,
                        boot_defaults=boot_defaults_for(8080, view))
    server = DhcpServer(engine, {"ctl": "bench0"}, batch_limit=batch, unknown_per_second=10**9)
    server.start_journal()
    ingress = Ingress("bench0", "ctl", SERVER_INT)
    if scenario == "registered":
        macs = [mac_of(i % ports) for i in range(exchanges)]
    else:
        macs = [mac_of(i, UNKNOWN_BASE) for i in range(exchanges)]
    sock = FakeSocket()
    cpu = 0.0
    for first in range(0, exchanges, batch):
        chunk = macs[first:first + batch]
        discovers = [request(mac, first + n, 1) for n, mac in enumerate(chunk)]
        sock.sent.clear()
        began = time.process_time()
        server.handle_batch(sock, ingress, discovers)  # type: ignore[arg-type]
        cpu += time.process_time() - began
        offers = [Packet.from_wire(data) for data in sock.sent]
        if len(offers) != len(chunk):
            raise SystemExit(f"{scenario}: {len(offers)} offers for {len(chunk)} discovers")
        requests = [request(o.mac or "", o.xid, 3, o.yiaddr) for o in offers]
        sock.sent.clear()
        began = time.process_time()
        server.handle_batch(sock, ingress, requests)  # type: ignore[arg-type]
        await sock.until_sent(len(chunk))
        cpu += time.process_time() - began
        if len(sock.sent) != len(chunk):
            raise SystemExit(f"{scenario}: {len(sock.sent)} acks for {len(chunk)} requests")
        if scenario == "registered" and Packet.from_wire(sock.sent[0]).yiaddr != (
                FIRST_FIXED + first % ports):
            raise SystemExit("registered client did not get its fixed address")
    server.close()
    leases.close()
    return cpu / exchanges * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scenario", choices=["registered", "pool", "both"], default="both")
    parser.add_argument("--ports", type=int, default=10_000)
    parser.add_argument("--exchanges", type=int, default=50_000)
    parser.add_argument("--batch", type=int, default=32, help="datagrams per drained batch")
    parser.add_argument("--repeat", type=int, default=3, help="runs per scenario; the best counts")
    parser.add_argument("--profile", type=Path, help="write a cProfile of the run here")
    args = parser.parse_args()
    scenarios = ["registered", "pool"] if args.scenario == "both" else [args.scenario]
    with tempfile.TemporaryDirectory(prefix="metalnet-dhcp-path-", dir="/tmp") as tmp:
        for scenario in scenarios:
            profiler = cProfile.Profile() if args.profile else None
            if profiler:
                profiler.enable()
            # The best of a few runs: other load on the machine only ever adds time.
            per_exchange = min(
                asyncio.run(run(scenario, args.ports, args.exchanges, args.batch, Path(tmp)))
                for _ in range(args.repeat)
            )
            if profiler:
                profiler.disable()
                profiler.dump_stats(str(args.profile.with_suffix(f".{scenario}.prof")))
            print(f"{scenario:<10} {args.exchanges} exchanges, batches of {args.batch}, "
                  f"best of {args.repeat}: "
                  f"{per_exchange:6.1f} us CPU per 4-way exchange "
                  f"({1e6 / per_exchange:,.0f}/s on one core)")


if __name__ == "__main__":
    main()
