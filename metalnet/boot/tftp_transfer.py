"""The state machine of one TFTP read transfer, free of sockets and clocks.

:func:`negotiate` turns a read request into the transfer's parameters and the
OACK to send. :class:`Transfer` then sends the file through a :class:`Sink`;
its driver (:mod:`metalnet.boot.tftp_session`) feeds it datagrams with
:meth:`Transfer.receive` and calls :meth:`Transfer.expire` when
:attr:`Transfer.timeout` seconds pass without progress.

Block numbers are counted without limit internally and sent modulo 65536, so
files of more than 65535 blocks roll over to block 0 (the rollover most
clients expect, as tftpd-hpa does).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Protocol

from metalnet.boot.sources import OpenedFile
from metalnet.boot.tftp_config import TftpConfig, TftpCounters
from metalnet.wire.errors import WireError
from metalnet.wire.tftp.packet import (
    ACK,
    BLKSIZE_DEFAULT,
    ERROR,
    OACK,
    RRQ,
    ErrorCode,
    RequestOptions,
    ack_block,
    encode_data_header,
    from_wire,
)


class Sink(Protocol):
    """Sends one datagram to the client, made of ``parts`` laid end to end."""

    def send(self, *parts: bytes | memoryview) -> None:
        """Send without blocking; a datagram that cannot be sent now may be queued or lost."""
        ...


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


# Bound once: :attr:`Transfer.done` is read for every block sent and every datagram
# received, and looking an enum member up costs more than the test itself.
_RUNNING = Status.RUNNING


class Transfer:
    """Sends ``file`` to one client with windows (RFC 7440) and retransmission.

    Only :meth:`expire` resends: a duplicate ACK is ignored, so a delayed ACK
    cannot double every following packet (the Sorcerer's Apprentice bug). An ACK
    that moves the window forward but not to its end means the client lost a
    block, so the window restarts after the acknowledged block (RFC 7440 §4).

    :param file: the file to send; closed by the caller.
    :param negotiation: parameters from :func:`negotiate`.
    :param sink: where datagrams go.
    :param config: retry and read-ahead limits.
    :param counters: totals shared with the server.
    """

    def __init__(
        self,
        file: OpenedFile,
        negotiation: Negotiation,
        sink: Sink,
        config: TftpConfig,
        counters: TftpCounters,
    ) -> None:
        self._file = file
        self._blksize = negotiation.blksize
        self._windowsize = negotiation.windowsize
        self._oack = negotiation.oack
        self._sink = sink
        self._counters = counters
        self._max_retries = config.max_retries
        self._base_timeout = negotiation.timeout
        self._max_timeout = max(negotiation.timeout, config.max_retransmit_timeout)
        self._read_size = max(config.read_ahead, self._blksize * self._windowsize)
        self._read_size -= self._read_size % self._blksize

        self.status = Status.RUNNING
        self.reason = ""
        self.timeout = self._base_timeout
        self._retries = 0
        self._awaiting_oack_ack = negotiation.oack is not None
        # Blocks are numbered from 1; the last one is shorter than blksize, maybe empty.
        self._last = file.size // self._blksize + 1
        self._first = 1  # first block not yet acknowledged
        self._next = 1  # next block to send
        self._highest_sent = 0
        self._buffer = memoryview(b"")
        self._buffer_offset = 0

    @property
    def done(self) -> bool:
        """Whether the transfer has ended, whatever the outcome."""
        return self.status is not _RUNNING

    def start(self) -> None:
        """Send the OACK, or the first window when no option was negotiated."""
        if self._oack is not None:
            self._counters.oacks_sent += 1
            self._sink.send(self._oack.to_wire())
        else:
            self._send_window()

    def receive(self, datagram: bytes) -> bool:
        """Handle one datagram from the client.

        :returns: whether the transfer made progress (the driver restarts its timer).
        """
        block = ack_block(datagram)
        if block is not None:
            return self._on_ack(block)
        try:
            packet = from_wire(datagram)
        except WireError:
            self._counters.drop("malformed")
            return False
        if isinstance(packet, ACK):
            return self._on_ack(packet.block)
        if isinstance(packet, ERROR):
            self._counters.errors_received += 1
            self._end(Status.ABORTED, f"client sent error {packet.code}: {packet.message}")
            return False
        self._counters.drop("unexpected-packet")
        return False

    def expire(self) -> None:
        """The timer ran out without progress: resend with a doubled timeout, or give up."""
        if self.done:
            return
        self._retries += 1
        if self._retries > self._max_retries:
            self._end(Status.FAILED, "timeout")
            return
        self.timeout = min(self.timeout * 2, self._max_timeout)
        if self._awaiting_oack_ack and self._oack is not None:
            self._counters.retransmits += 1
            self._counters.oacks_sent += 1
            self._sink.send(self._oack.to_wire())
        else:
            self._next = self._first
            self._send_window()

    def abandon(self, reason: str) -> None:
        """End as failed for a reason outside the protocol, such as a socket error."""
        if not self.done:
            self._end(Status.FAILED, reason)

    def _on_ack(self, block: int) -> bool:
        if self._awaiting_oack_ack:
            if block != 0:
                self._counters.drop("unexpected-ack")
                return False
            self._awaiting_oack_ack = False
            self._progress()
            self._send_window()
            return True
        # Map the 16-bit number onto the blocks in flight: first - 1 (nothing new) .. next - 1.
        acked = self._first - 1 + ((block - self._first + 1) & 0xFFFF)
        if acked == self._first - 1:
            self._counters.drop("duplicate-ack")  # only a timeout resends
            return False
        if acked >= self._next:
            self._counters.drop("stale-ack")  # older than the window, or for a block never sent
            return False
        self._first = acked + 1
        self._progress()
        if acked == self._last:
            self._end(Status.COMPLETED, "")
            return True
        if acked < self._next - 1:
            self._next = self._first  # the client missed a block: restart the window after it
        self._send_window()
        return True

    def _progress(self) -> None:
        self._retries = 0
        self.timeout = self._base_timeout

    def _send_window(self) -> None:
        end = min(self._first + self._windowsize, self._last + 1)
        while self._next < end and self.status is _RUNNING:
            self._send_block(self._next)
            self._next += 1

    def _send_block(self, block: int) -> None:
        start = (block - 1) * self._blksize
        stop = min(start + self._blksize, self._file.size)
        buffered = self._buffer_offset <= start and stop <= self._buffer_offset + len(self._buffer)
        if not buffered and not self._fill(start):
            return
        payload = self._buffer[start - self._buffer_offset : stop - self._buffer_offset]
        if block <= self._highest_sent:
            self._counters.retransmits += 1
        else:
            self._highest_sent = block
        self._counters.data_sent += 1
        self._counters.bytes_sent += len(payload)
        self._sink.send(encode_data_header(block & 0xFFFF), payload)

    def _fill(self, offset: int) -> bool:
        """Read ahead from ``offset``; fail the transfer if the file shrank meanwhile."""
        want = min(self._read_size, self._file.size - offset)
        stream = self._file.stream
        stream.seek(offset)
        chunks: list[bytes] = []
        got = 0
        while got < want:
            chunk = stream.read(want - got)
            if not chunk:
                break
            chunks.append(chunk)
            got += len(chunk)
        if got < want:
            self._fail_with_error("file changed while being sent")
            return False
        self._buffer = memoryview(chunks[0] if len(chunks) == 1 else b"".join(chunks))
        self._buffer_offset = offset
        return True

    def _fail_with_error(self, reason: str) -> None:
        self._counters.errors_sent += 1
        self._sink.send(ERROR(ErrorCode.NOT_DEFINED, reason).to_wire())
        self._end(Status.FAILED, reason)

    def _end(self, status: Status, reason: str) -> None:
        self.status = status
        self.reason = reason
