"""Drives one :class:`~metalnet.boot.tftp_transfer.Transfer` over its own UDP socket.

The socket is bound to an ephemeral port (the server's TID, RFC 1350) and
connected to the client, so the kernel drops datagrams from any other source
instead of this code answering them with ERROR 5, and an ICMP "port
unreachable" ends the session at once. The socket is watched with
``loop.add_reader`` and written with ``sendmsg`` directly: a transfer is a
stream of small datagrams and per-packet futures would cost more than the send.
File reads happen on the event loop in ``read_ahead``-sized pieces, which is
cheap for boot files that sit in the page cache. Sessions run on the listener's
loop or on a transfer worker's, both through :mod:`metalnet.boot.tftp_runner`.
"""

from __future__ import annotations

import asyncio
import socket
from collections import deque

from metalnet.boot.sources import OpenedFile
from metalnet.boot.tftp_config import TftpConfig, TftpCounters
from metalnet.boot.tftp_transfer import Negotiation, Transfer

_RECV_SIZE = 516  # ACKs are 4 bytes; a longer ERROR message is cut, which its decoder accepts


class TransferSession:
    """One running transfer: socket, timer and state machine.

    :param sock: a non-blocking UDP socket already bound and connected to the client;
        the session closes it.
    :param file: the file to send; the session closes it.
    """

    def __init__(
        self,
        sock: socket.socket,
        file: OpenedFile,
        negotiation: Negotiation,
        config: TftpConfig,
        counters: TftpCounters,
    ) -> None:
        self._sock = sock
        self._file = file
        self.transfer = Transfer(file, negotiation, self, config, counters)
        self._pending: deque[tuple[bytes | memoryview, ...]] = deque()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._done: asyncio.Future[None] | None = None
        self._timer: asyncio.TimerHandle | None = None
        self._deadline = 0.0

    async def run(self) -> Transfer:
        """Send the file; return the finished transfer (see its ``status`` and ``reason``)."""
        loop = asyncio.get_running_loop()
        self._loop = loop
        self._done = loop.create_future()
        fd = self._sock.fileno()
        try:
            loop.add_reader(fd, self._on_readable)
            self.transfer.start()
            self._after_step(progressed=True)
            await self._done
        finally:
            loop.remove_reader(fd)
            loop.remove_writer(fd)
            if self._timer is not None:
                self._timer.cancel()
            self._sock.close()
            self._file.close()
        return self.transfer

    def send(self, *parts: bytes | memoryview) -> None:
        """The transfer's :class:`~metalnet.boot.tftp_transfer.Sink`: send now or queue."""
        if self._pending:
            self._pending.append(parts)
            return
        try:
            self._sock.sendmsg(parts)
        except BlockingIOError:
            self._pending.append(parts)
            assert self._loop is not None
            self._loop.add_writer(self._sock.fileno(), self._on_writable)
        except OSError as exc:
            self.transfer.abandon(f"send failed: {exc.strerror or exc}")

    def _on_writable(self) -> None:
        while self._pending:
            try:
                self._sock.sendmsg(self._pending[0])
            except BlockingIOError:
                return
            except OSError as exc:
                self.transfer.abandon(f"send failed: {exc.strerror or exc}")
                self._after_step(progressed=False)
                return
            self._pending.popleft()
        assert self._loop is not None
        self._loop.remove_writer(self._sock.fileno())

    def _on_readable(self) -> None:
        # One datagram per call: the selector is level-triggered and calls again while
        # more are queued, which costs less than a final recv failing with EAGAIN.
        try:
            datagram = self._sock.recv(_RECV_SIZE)
        except BlockingIOError:
            return
        except OSError as exc:
            # ECONNREFUSED: the client's port is closed (ICMP port unreachable).
            self.transfer.abandon(f"client unreachable: {exc.strerror or exc}")
            self._after_step(progressed=False)
            return
        self._after_step(self.transfer.receive(datagram))

    def _on_timer(self) -> None:
        assert self._loop is not None
        self._timer = None
        if self._loop.time() < self._deadline:
            self._timer = self._loop.call_at(self._deadline, self._on_timer)
            return
        self.transfer.expire()
        self._after_step(progressed=True)

    def _after_step(self, progressed: bool) -> None:
        assert self._loop is not None and self._done is not None
        if self.transfer.done:
            if not self._done.done():
                self._done.set_result(None)
            return
        if progressed:
            # Moving the deadline is one float store; the timer re-arms itself lazily.
            self._deadline = self._loop.time() + self.transfer.timeout
            if self._timer is None or self._timer.when() > self._deadline:
                if self._timer is not None:
                    self._timer.cancel()
                self._timer = self._loop.call_at(self._deadline, self._on_timer)
