"""The DHCP network service: sockets per interface, drained in batches.

When a socket becomes readable the server drains it (up to ``batch_limit``
datagrams), decodes and decides each, hands the batch's lease changes to the
journal writer (:mod:`metalnet.dhcp.journal`: one write and one fsync for all
that was decided meanwhile, on its own thread) and sends the ACKs that bind
those leases once they are durable; replies that bind nothing (OFFERs, NAKs,
ACKs of a port's fixed address) are sent as soon as decided.

Registered MACs come first in every batch, then unknown MACs finishing an
exchange; new unknown DISCOVERs get at most ``unknown_per_second`` decisions per
second, the rest are dropped and counted, so a flood of unknown machines can
exhaust a pool at worst, never starve registered ones. (A cap per batch as well
dropped the legitimate bursts that queue up while the loop is busy; registered
MACs do not need it, as they are decided first in their batch.)
"""

from __future__ import annotations

import asyncio
import fcntl
import functools
import logging
import socket
import struct
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass

from metalnet.dhcp.engine import PROXY_PORT, SERVER_PORT, DhcpEngine, Drop, Ingress, Reply
from metalnet.dhcp.journal import JournalWriter
from metalnet.wire.dhcp4 import MessageType, Packet
from metalnet.wire.errors import WireError

log = logging.getLogger(__name__)

SIOCGIFADDR = 0x8915
RECV_SIZE = 4096
_MESSAGE_TYPE = 53
_DISCOVER = bytes((int(MessageType.DISCOVER),))
_SENT_COUNTER = {int(t): f"sent:{t.name}" for t in MessageType}
"""A reply's message type -> its counter."""


def interface_address(name: str) -> int:
    """The IPv4 address of a host interface, as an integer.

    :raises OSError: no such interface, or it has no IPv4 address.
    """
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        request = struct.pack("256s", name.encode()[:15])
        answer = fcntl.ioctl(probe.fileno(), SIOCGIFADDR, request)
    return int.from_bytes(answer[20:24], "big")


def open_socket(interface: str, port: int) -> socket.socket:
    """A non-blocking UDP socket on ``port`` that only sees ``interface``."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_BROADCAST, 1)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_BINDTODEVICE, interface.encode())
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 * 1024 * 1024)
        sock.bind(("0.0.0.0", port))
        sock.setblocking(False)
    except OSError:
        sock.close()
        raise
    return sock


@dataclass
class _Budget:
    """New unknown DISCOVERs that may be decided in the current second."""

    per_second: int
    second: int = 0
    used: int = 0

    def take(self, wanted: int, now: float) -> int:
        if int(now) != self.second:
            self.second, self.used = int(now), 0
        granted = max(0, min(wanted, self.per_second - self.used))
        self.used += granted
        return granted


class DhcpServer:
    """Serves DHCP (67) and proxyDHCP (4011) on the given interfaces.

    :param interfaces: physical network -> interface name.
    :param durable_burst: ACKs sent at once when the journal reports their leases durable.
    """

    def __init__(
        self,
        engine: DhcpEngine,
        interfaces: dict[str, str],
        batch_limit: int = 256,
        unknown_per_second: int = 10000,
        durable_burst: int = 32,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.engine = engine
        self.interfaces = interfaces
        self.batch_limit = batch_limit
        self.budget = _Budget(unknown_per_second)
        self.durable_burst = durable_burst
        self.clock = clock
        self.counters: Counter[str] = Counter()
        self._sockets: list[socket.socket] = []
        self._loop: asyncio.AbstractEventLoop | None = None
        self._journal: JournalWriter | None = None

    def start(self) -> None:
        """Open the sockets and start reading (on the running loop).

        :raises OSError: an interface is missing or has no IPv4 address.
        """
        self.start_journal()
        assert self._loop is not None
        for physnet, interface in self.interfaces.items():
            address = interface_address(interface)
            for port in (SERVER_PORT, PROXY_PORT):
                sock = open_socket(interface, port)
                ingress = Ingress(interface, physnet, address, proxy=port == PROXY_PORT)
                self._loop.add_reader(sock.fileno(), self._on_readable, sock, ingress)
                self._sockets.append(sock)
            log.info(
                "DHCP on %s (%s) for physical network %s",
                interface,
                socket.inet_ntoa(address.to_bytes(4, "big")),
                physnet,
            )

    def start_journal(self) -> None:
        """Start the lease journal's writer on the running loop.

        :meth:`start` does this; call it alone to feed :meth:`handle_batch` without sockets.
        """
        self._loop = asyncio.get_running_loop()
        self._journal = JournalWriter(self.engine.leases.append, self._loop)

    def close(self) -> None:
        """Stop reading, write the queued lease changes, close the sockets."""
        for sock in self._sockets:
            if self._loop is not None:
                self._loop.remove_reader(sock.fileno())
        if self._journal is not None:
            self._journal.close()
            self._journal = None
        for sock in self._sockets:
            sock.close()
        self._sockets.clear()
        self.engine.leases.flush()

    # ------------------------------------------------------------------ packet path

    def _drain(self, sock: socket.socket) -> list[bytes]:
        datagrams = []
        for _ in range(self.batch_limit):
            try:
                data = sock.recv(RECV_SIZE)  # the reply address comes from the packet
            except (BlockingIOError, InterruptedError):
                break
            except OSError as exc:
                self.counters[f"error:recv:{exc.errno}"] += 1
                break
            datagrams.append(data)
        return datagrams

    def _prioritised(self, datagrams: list[bytes]) -> list[tuple[Packet, str | None]]:
        """Registered MACs first, then unknown MACs finishing an exchange we began,
        then new unknown DISCOVERs within the budget (the rest dropped and counted).

        Each packet comes with its MAC, read here once for the engine too.
        """
        known: list[tuple[Packet, str | None]] = []
        following: list[tuple[Packet, str | None]] = []
        discovering: list[tuple[Packet, str | None]] = []
        is_known = self.engine.view.is_known
        for data in datagrams:
            try:
                packet = Packet.from_wire(data)
            except WireError as exc:
                self.counters[f"drop:malformed:{type(exc).__name__}"] += 1
                continue
            mac = packet.mac
            if mac is not None and is_known(mac):
                known.append((packet, mac))
            elif packet.options.get(_MESSAGE_TYPE) == _DISCOVER:
                discovering.append((packet, mac))
            else:
                following.append((packet, mac))
        allowed = self.budget.take(len(discovering), self.clock())
        if allowed < len(discovering):
            self.counters["drop:unknown-flood"] += len(discovering) - allowed
        return known + following + discovering[:allowed]

    def _on_readable(self, sock: socket.socket, ingress: Ingress) -> None:
        try:
            self.handle_batch(sock, ingress, self._drain(sock))
        except Exception:  # the packet path must never stop serving
            self.counters["error:internal"] += 1
            log.exception("DHCP batch failed")

    def handle_batch(self, sock: socket.socket, ingress: Ingress, datagrams: list[bytes]) -> None:
        """Decide every datagram and answer it.

        An ACK that binds a lease waits until the journal writer has made the
        batch's lease changes durable (the loop goes on meanwhile); every other
        reply leaves as soon as it is decided (no burst of a whole batch at
        once, which overflows a relay's socket buffer).
        """
        self.counters["received"] += len(datagrams)
        after_flush: list[Reply] = []
        for packet, mac in self._prioritised(datagrams):
            outcome = self.engine.handle(packet, ingress, mac)
            if isinstance(outcome, Drop):
                self.counters[f"drop:{outcome.reason}"] += 1
            elif outcome.lease_written:
                after_flush.append(outcome)
            else:
                self._send(sock, outcome)
        if self.engine.leases.pending or after_flush:
            assert self._journal is not None, "start() or start_journal() first"
            self._journal.submit(
                self.engine.leases.take_pending(),
                functools.partial(self._send_durable, sock, after_flush),
            )

    def _send_durable(self, sock: socket.socket, replies: list[Reply], durable: bool) -> None:
        """Send the ACKs whose leases the journal has made durable (or withhold them).

        At most ``durable_burst`` leave at once; the rest follow after the loop has
        run its other ready callbacks (such as reading the next requests), so a slow
        fsync does not end in one burst of hundreds of ACKs that overflows the relay's
        socket buffer.
        """
        if not durable:
            self.counters["error:journal"] += len(replies)
            return
        for reply in replies[: self.durable_burst]:
            self._send(sock, reply)
        if len(replies) > self.durable_burst:
            assert self._loop is not None
            rest = replies[self.durable_burst :]
            self._loop.call_soon(self._send_durable, sock, rest, True)

    def _send(self, sock: socket.socket, reply: Reply) -> None:
        try:
            sock.sendto(reply.data, reply.address)
        except OSError as exc:
            self.counters[f"error:send:{type(exc).__name__}"] += 1
            return
        self.counters[_SENT_COUNTER.get(reply.message_type, "sent:other")] += 1
