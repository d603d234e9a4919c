"""The server's ACKs that bind leases leave only once the journal has them on disk."""

from __future__ import annotations

import asyncio
from pathlib import Path

from metalnet.dhcp.server import DhcpServer
from metalnet.wire.dhcp4 import Packet
from tests.support.waits import until
from tests.unit.dhcp.conftest import SERVER_IP, Bench, ip, request


class JournalWatchingSocket:
    """Records each datagram with the lease journal's text at the moment it was sent,
    and the turn of the event loop it was sent in (a turn ends when the loop gets to
    run the callbacks scheduled meanwhile)."""

    def __init__(self, journal: Path) -> None:
        self.journal = journal
        self.sent: list[tuple[Packet, str]] = []
        self.turns: list[int] = []
        self._turn = 0
        self._turn_open = False

    def sendto(self, data: bytes, _address: object) -> int:
        self.sent.append((Packet.from_wire(data), self.journal.read_text()))
        self.turns.append(self._turn)
        if not self._turn_open:
            self._turn_open = True
            asyncio.get_running_loop().call_soon(self._next_turn)
        return len(data)

    def _next_turn(self) -> None:
        self._turn += 1
        self._turn_open = False




async def test_acks_follow_the_fsync_of_their_leases_a_burst_at_a_time(
    bench: Bench, tmp_path: Path
) -> None:
    server = DhcpServer(bench.engine, {"ctl": "br0"}, durable_burst=2)
    server.start_journal()
    sock = JournalWatchingSocket(tmp_path / "leases.journal")
    macs = [f"52:54:00:00:00:{n:02x}" for n in range(4)]  # the pool holds four addresses
    try:
        discovers = [request(mac, 1, xid=n).to_wire() for n, mac in enumerate(macs)]
        server.handle_batch(sock, bench.ingress, discovers)  # type: ignore[arg-type]
        offers = [packet for packet, _ in sock.sent]
        assert len(offers) == 4  # an OFFER binds nothing: it leaves at once
        sock.sent.clear()
        sock.turns.clear()
        requests = [
            request(str(offer.mac), 3, xid=offer.xid, options={
                50: offer.yiaddr.to_bytes(4, "big"), 54: ip(SERVER_IP).to_bytes(4, "big"),
            }).to_wire()
            for offer in offers
        ]
        server.handle_batch(sock, bench.ingress, requests)  # type: ignore[arg-type]
        assert sock.sent == []  # not before the journal's fsync
        await until(lambda: len(sock.sent) == 4)
    finally:
        server.close()
    assert [packet.xid for packet, _ in sock.sent] == [0, 1, 2, 3]
    first = sock.turns[0]
    assert sock.turns == [first, first, first + 1, first + 1]  # two at a time
    for packet, journal_then in sock.sent:
        assert f'"mac": "{packet.mac}"' in journal_then  # its lease was on disk before it left
