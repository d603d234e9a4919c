"""One TFTP read transfer: negotiation, the OACK, retries and backoff.

:func:`negotiate` turns a read request into the transfer's parameters and the
OACK to send. A :class:`Transfer` sends the OACK itself and leaves the data phase
(blocks, windows, ACKs) to a compiled
:class:`~metalnet.boot._tftp_blocks.BlockSender` on the same socket. Its driver
(:mod:`metalnet.boot.tftp_session`) calls :meth:`Transfer.exchange` from a thread,
which sends and answers ACKs until something needs this side, applies the outcome
with :meth:`Transfer.handle` on its own thread, and calls :meth:`Transfer.expire`
when the outcome says :attr:`Transfer.timeout` seconds passed without progress.
Why the data phase is compiled: ``docs/adr/0008-compiled-tftp-data-phase.md``.

Block numbers are counted without limit and sent modulo 65536, so files of more
than 65535 blocks roll over to block 0 (the rollover most clients expect, as
tftpd-hpa does).
"""

from __future__ import annotations

import enum
import os
import socket
from dataclasses import dataclass
from typing import NamedTuple

from metalnet.boot import _tftp_blocks as blocks
from metalnet.boot.sources import OpenedFile
from metalnet.boot.tftp_config import TftpConfig, TftpCounters
from metalnet.wire.errors import WireError
from metalnet.wire.tftp.packet import (
    BLKSIZE_DEFAULT,
    ERROR,
    OACK,
    RRQ,
    ErrorCode,
    RequestOptions,
    from_wire,
)


@dataclass(frozen=True, slots=True)
class Negotiation:
    """What a transfer runs with; ``oack`` is ``None`` when no option was accepted."""

    blksize: int = BLKSIZE_DEFAULT
    windowsize: int = 1
    timeout: float = 1.0
    oack: OACK | None = None


def negotiate(request: RRQ, size: int, config: TftpConfig) -> Negotiation:
    """Accept the options of ``request`` this server supports, within ``config``.

    ``blksize`` and ``windowsize`` are lowered to the configured maxima; ``tsize``
    is answered with ``size``; ``timeout`` is taken as the base resend timeout.
    Unknown options and values outside their RFC's range are left out of the OACK.
    """
    asked = RequestOptions.from_options(request.options)
    accepted: dict[str, str] = {}
    blksize = BLKSIZE_DEFAULT
    windowsize = 1
    timeout = config.retransmit_timeout
    if asked.blksize is not None:
        blksize = min(asked.blksize, config.max_blksize)
        accepted["blksize"] = str(blksize)
    if asked.tsize is not None:
        accepted["tsize"] = str(size)
    if asked.timeout is not None:
        timeout = float(asked.timeout)
        accepted["timeout"] = str(asked.timeout)
    if asked.windowsize is not None:
        windowsize = min(asked.windowsize, config.max_windowsize)
        accepted["windowsize"] = str(windowsize)
    # Answer in the client's order, each option once.
    names = dict.fromkeys(name for name, _ in request.options if name in accepted)
    oack = OACK(tuple((name, accepted[name]) for name in names)) if names else None
    return Negotiation(blksize, windowsize, timeout, oack)


class Status(enum.Enum):
    """Where a transfer stands."""

    RUNNING = "running"
    COMPLETED = "completed"
    ABORTED = "aborted"  # the client sent an ERROR
    FAILED = "failed"  # the server gave up


class Outcome(NamedTuple):
    """What one :meth:`Transfer.exchange` came to.

    ``event`` is one of the ``_tftp_blocks`` constants; ``detail`` is the datagram
    for ``DATAGRAM``, the ``errno`` for ``READ_FAILED`` and ``SOCKET_FAILED``.
    """

    event: int
    progressed: bool
    detail: bytes | int | None

    @property
    def timed_out(self) -> bool:
        """No progress for the transfer's timeout: time for :meth:`Transfer.expire`."""
        return self.event == blocks.TIMEOUT


class Transfer:
    """Sends ``file`` to the client ``sock`` is connected to, with retransmission.

    Only :meth:`expire` resends: the block sender ignores a duplicate ACK, so a
    delayed ACK cannot double every following packet (the Sorcerer's Apprentice
    bug). An ACK inside the window restarts it after the acknowledged block
    (RFC 7440 §4).

    :param sock: the transfer's non-blocking UDP socket, connected to the client;
        closed by the caller.
    :param file: the file to send, with a descriptor; closed by the caller.
    :param negotiation: parameters from :func:`negotiate`.
    :param config: retry limits.
    :param counters: totals this transfer adds to.
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
        self._oack = negotiation.oack
        self._counters = counters
        self._max_retries = config.max_retries
        self._base_timeout = negotiation.timeout
        self._max_timeout = max(negotiation.timeout, config.max_retransmit_timeout)
        self._blocks = blocks.BlockSender(
            sock.fileno(),
            file.stream.fileno(),
            file.size,
            negotiation.blksize,
            negotiation.windowsize,
            negotiation.oack is not None,
        )
        self.status = Status.RUNNING
        self.reason = ""
        self.timeout = self._base_timeout
        self._retries = 0

    @property
    def done(self) -> bool:
        """Whether the transfer has ended, whatever the outcome."""
        return self.status is not Status.RUNNING

    def start(self) -> None:
        """Send the OACK; without one, the first exchange sends the first window."""
        if self._oack is not None:
            self._send_oack()

    def exchange(self, stop_fd: int = -1, timeout: float | None = None) -> Outcome:
        """Send the blocks due and answer ACKs until something needs :meth:`handle`.

        Blocks for up to ``timeout`` seconds without progress (default
        :attr:`timeout`) with the GIL released; run it from a thread, and only one
        at a time. A byte to read on ``stop_fd`` ends it early.
        """
        wait = self.timeout if timeout is None else timeout
        event, progressed, detail = self._blocks.run(wait, stop_fd)
        return Outcome(event, progressed, detail)

    def handle(self, outcome: Outcome) -> None:
        """Apply an exchange's outcome: counters, progress, the end, the client's packets.

        A timeout is left to the driver, which calls :meth:`expire`.
        """
        self._take_counts()
        if outcome.progressed:
            self._retries = 0
            self.timeout = self._base_timeout
        event, detail = outcome.event, outcome.detail
        if event == blocks.COMPLETED:
            self._end(Status.COMPLETED, "")
        elif event == blocks.DATAGRAM:
            assert isinstance(detail, bytes)
            self._receive(detail)
        elif event == blocks.FILE_SHORT:
            self._fail_with_error("file changed while being sent")
        elif event == blocks.READ_FAILED:
            assert isinstance(detail, int)
            self._fail_with_error(f"read failed: {os.strerror(detail)}")
        elif event == blocks.SOCKET_FAILED:
            assert isinstance(detail, int)
            # ECONNREFUSED: the client's port is closed (ICMP port unreachable).
            self.abandon(f"client unreachable: {os.strerror(detail)}")
        elif event == blocks.STOPPED:
            self.abandon("stopped")

    def expire(self) -> None:
        """The timer ran out without progress: resend with a doubled timeout, or give up."""
        if self.done:
            return
        self._retries += 1
        if self._retries > self._max_retries:
            self._end(Status.FAILED, "timeout")
            return
        self.timeout = min(self.timeout * 2, self._max_timeout)
        if self._blocks.awaiting_oack:
            self._counters.retransmits += 1
            self._send_oack()
        else:
            self._blocks.rewind()  # the next exchange resends the window

    def abandon(self, reason: str) -> None:
        """End as failed for a reason outside the protocol, such as a socket error."""
        if not self.done:
            self._end(Status.FAILED, reason)

    def _receive(self, datagram: bytes) -> None:
        """A datagram that is not an ACK: the client's ERROR, or something to drop."""
        try:
            packet = from_wire(datagram)
        except WireError:
            self._counters.drop("malformed")
            return
        if isinstance(packet, ERROR):
            self._counters.errors_received += 1
            self._end(Status.ABORTED, f"client sent error {packet.code}: {packet.message}")
            return
        self._counters.drop("unexpected-packet")

    def _take_counts(self) -> None:
        sent, sent_bytes, resent, duplicate, stale, unexpected = self._blocks.take_counts()
        counters = self._counters
        counters.data_sent += sent
        counters.bytes_sent += sent_bytes
        counters.retransmits += resent
        for reason, count in (
            ("duplicate-ack", duplicate),
            ("stale-ack", stale),
            ("unexpected-ack", unexpected),
        ):
            if count:
                counters.drop(reason, count)

    def _send_oack(self) -> None:
        assert self._oack is not None
        self._counters.oacks_sent += 1
        self._send(self._oack.to_wire())

    def _fail_with_error(self, reason: str) -> None:
        self._counters.errors_sent += 1
        self._send(ERROR(ErrorCode.NOT_DEFINED, reason).to_wire())
        self._end(Status.FAILED, reason)

    def _send(self, datagram: bytes) -> None:
        """Send one packet of this side's own; one the socket cannot take now is lost."""
        try:
            self._sock.send(datagram)
        except BlockingIOError:
            pass  # a timeout resends it
        except OSError as exc:
            self.abandon(f"send failed: {exc.strerror or exc}")

    def _end(self, status: Status, reason: str) -> None:
        self.status = status
        self.reason = reason
