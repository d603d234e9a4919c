"""The transfer state machine, driven by a model client over an in-memory sink.

No sockets and no clock: the machine is pure.

A "timeout" is the test calling :meth:`Transfer.expire` when the client has nothing left to read.
"""

from __future__ import annotations

import io
import random
from collections.abc import Callable

import pytest

from metalnet.boot.sources import OpenedFile
from metalnet.boot.tftp_config import TftpConfig, TftpCounters
from metalnet.boot.tftp_transfer import Status, Transfer, negotiate
from metalnet.wire.tftp.packet import ACK, DATA, ERROR, OACK, RRQ, Mode, from_wire

Options = tuple[tuple[str, str], ...]


class FakeSink:
    """Collects sent datagrams."""

    def __init__(self) -> None:
        self.sent: list[bytes] = []

    def send(self, *parts: bytes | memoryview) -> None:
        self.sent.append(b"".join(parts))


def make(
    content: bytes, options: Options = (), config: TftpConfig | None = None, size: int | None = None
) -> tuple[Transfer, FakeSink, TftpCounters]:
    config = config or TftpConfig(max_retries=3)
    sink = FakeSink()
    counters = TftpCounters()
    file = OpenedFile(io.BytesIO(content), len(content) if size is None else size)
    negotiation = negotiate(RRQ("f", Mode.OCTET, options), file.size, config)
    return Transfer(file, negotiation, sink, config, counters), sink, counters


def run_client(
    transfer: Transfer,
    sink: FakeSink,
    *,
    blksize: int = 512,
    windowsize: int = 1,
    lose: Callable[[int], bool] = lambda index: False,
    max_steps: int = 1_000_000,
) -> bytes:
    """An RFC 7440 client: ACKs full windows and the last block; on a gap, the last good one."""
    received = bytearray()
    expected = 1
    in_window = 0
    index = 0
    transfer.start()
    for _ in range(max_steps):
        if transfer.done:
            return bytes(received)
        if not sink.sent:
            transfer.expire()
            continue
        datagram = sink.sent.pop(0)
        index += 1
        if lose(index):
            continue
        packet = from_wire(datagram)
        if isinstance(packet, OACK):
            transfer.receive(ACK(0).to_wire())
            continue
        assert isinstance(packet, DATA)
        if packet.block != expected & 0xFFFF:
            transfer.receive(ACK((expected - 1) & 0xFFFF).to_wire())
            in_window = 0
            continue
        received += packet.data
        expected += 1
        in_window += 1
        if len(packet.data) < blksize or in_window == windowsize:
            in_window = 0
            transfer.receive(ACK(packet.block).to_wire())
    raise AssertionError("transfer did not end")


CONTENT = bytes(range(256)) * 40  # 10240 bytes: exactly 20 blocks of 512


@pytest.mark.parametrize("size", [0, 1, 511, 512, 513, 1500, 10240])
def test_plain_transfer_without_options(size: int) -> None:
    transfer, sink, counters = make(CONTENT[:size])
    assert run_client(transfer, sink) == CONTENT[:size]
    assert transfer.status is Status.COMPLETED
    assert counters.data_sent == size // 512 + 1  # a multiple of 512 ends with an empty block
    assert counters.retransmits == 0


def test_first_packet_without_options_is_block_one() -> None:
    transfer, sink, _ = make(b"abc")
    transfer.start()
    assert sink.sent == [DATA(1, b"abc").to_wire()]


def test_oack_answers_options_in_request_order() -> None:
    options = (("tsize", "0"), ("foo", "bar"), ("blksize", "1468"), ("windowsize", "4"))
    transfer, sink, counters = make(CONTENT, options)
    transfer.start()
    assert from_wire(sink.sent[0]) == OACK(
        (("tsize", str(len(CONTENT))), ("blksize", "1468"), ("windowsize", "4"))
    )
    assert counters.oacks_sent == 1


def test_windowed_transfer_sends_each_block_once() -> None:
    transfer, sink, counters = make(CONTENT, (("blksize", "1000"), ("windowsize", "4")))
    assert run_client(transfer, sink, blksize=1000, windowsize=4) == CONTENT
    assert counters.data_sent == 11
    assert counters.retransmits == 0


def test_window_is_sent_whole_before_waiting() -> None:
    transfer, sink, _ = make(CONTENT, (("windowsize", "4"),))
    transfer.start()
    transfer.receive(ACK(0).to_wire())
    assert [from_wire(d).block for d in sink.sent[1:]] == [1, 2, 3, 4]  # type: ignore[union-attr]


def test_ack_inside_the_window_rewinds_after_the_acknowledged_block() -> None:
    transfer, sink, counters = make(CONTENT, (("windowsize", "4"),))
    transfer.start()
    transfer.receive(ACK(0).to_wire())
    sink.sent.clear()
    assert transfer.receive(ACK(2).to_wire())  # the client got 1-2, lost 3
    assert [from_wire(d).block for d in sink.sent] == [3, 4, 5, 6]  # type: ignore[union-attr]
    assert counters.retransmits == 2


def test_duplicate_ack_sends_nothing() -> None:
    """Sorcerer's Apprentice: a delayed duplicate ACK must not double the following traffic."""
    transfer, sink, counters = make(CONTENT)
    transfer.start()
    transfer.receive(ACK(1).to_wire())
    sink.sent.clear()
    assert not transfer.receive(ACK(1).to_wire())
    assert not transfer.receive(ACK(0).to_wire())
    assert sink.sent == []
    assert counters.drops == {"duplicate-ack": 1, "stale-ack": 1}


def test_ack_for_a_block_never_sent_is_ignored() -> None:
    transfer, sink, counters = make(CONTENT)
    transfer.start()
    sink.sent.clear()
    assert not transfer.receive(ACK(5).to_wire())
    assert sink.sent == []
    assert counters.drops == {"stale-ack": 1}


def test_timeout_resends_window_and_doubles_timeout_then_gives_up() -> None:
    config = TftpConfig(retransmit_timeout=0.5, max_retransmit_timeout=1.5, max_retries=3)
    transfer, sink, counters = make(CONTENT, (("windowsize", "2"),), config)
    transfer.start()
    transfer.receive(ACK(0).to_wire())
    sink.sent.clear()
    timeouts = []
    for _ in range(3):
        transfer.expire()
        timeouts.append(transfer.timeout)
    assert timeouts == [1.0, 1.5, 1.5]
    assert [from_wire(d).block for d in sink.sent] == [1, 2] * 3  # type: ignore[union-attr]
    assert counters.retransmits == 6
    transfer.expire()
    assert transfer.status is Status.FAILED
    assert transfer.reason == "timeout"


def test_progress_resets_the_timeout() -> None:
    transfer, _, _ = make(CONTENT, config=TftpConfig(retransmit_timeout=1.0))
    transfer.start()
    transfer.expire()
    assert transfer.timeout == 2.0
    transfer.receive(ACK(1).to_wire())
    assert transfer.timeout == 1.0


def test_unacknowledged_oack_is_resent() -> None:
    transfer, sink, counters = make(CONTENT, (("tsize", "0"),))
    transfer.start()
    transfer.expire()
    assert len(sink.sent) == 2
    assert sink.sent[0] == sink.sent[1]
    assert counters.oacks_sent == 2


def test_negotiated_timeout_is_the_base_timeout() -> None:
    transfer, _, _ = make(CONTENT, (("timeout", "3"),))
    assert transfer.timeout == 3.0


def test_ovmf_size_probe_ends_as_aborted() -> None:
    options = (("tsize", "0"), ("blksize", "1468"), ("windowsize", "4"))
    transfer, _, counters = make(CONTENT, options)
    transfer.start()
    assert not transfer.receive(ERROR(8, "").to_wire())
    assert transfer.status is Status.ABORTED
    assert counters.errors_received == 1
    assert counters.data_sent == 0


@pytest.mark.parametrize("loss", [0.05, 0.3])
@pytest.mark.parametrize("windowsize", [1, 4, 16])
def test_lossy_link_still_delivers_everything(loss: float, windowsize: int) -> None:
    content = bytes(i % 251 for i in range(50_000))
    options = (("blksize", "700"), ("windowsize", str(windowsize)))
    config = TftpConfig(max_retries=50)
    transfer, sink, counters = make(content, options, config)
    chance = random.Random(windowsize).random
    received = run_client(
        transfer, sink, blksize=700, windowsize=windowsize, lose=lambda _: chance() < loss
    )
    assert received == content
    assert counters.retransmits > 0


def test_block_numbers_roll_over_to_zero() -> None:
    content = bytes(i % 253 for i in range(8 * 70_000))  # 70001 blocks of 8 bytes
    options = (("blksize", "8"), ("windowsize", "64"))
    transfer, sink, counters = make(content, options, TftpConfig(max_windowsize=64))
    seen: list[int] = []
    original = sink.send

    def spy(*parts: bytes | memoryview) -> None:
        header = bytes(parts[0])
        if header[:2] == b"\x00\x03":
            seen.append(int.from_bytes(header[2:4], "big"))
        original(*parts)

    sink.send = spy  # type: ignore[method-assign]
    assert run_client(transfer, sink, blksize=8, windowsize=64) == content
    assert seen[65534:65537] == [65535, 0, 1]
    assert counters.data_sent == 70_001


def test_file_that_shrank_fails_with_an_error_packet() -> None:
    transfer, sink, _ = make(b"abc", size=2000)
    transfer.start()
    assert transfer.status is Status.FAILED
    assert from_wire(sink.sent[-1]) == ERROR(0, "file changed while being sent")


def test_malformed_and_unexpected_datagrams_are_counted() -> None:
    transfer, _, counters = make(CONTENT)
    transfer.start()
    assert not transfer.receive(b"\x00")
    assert not transfer.receive(DATA(1, b"x").to_wire())
    assert counters.drops == {"malformed": 1, "unexpected-packet": 1}
    assert transfer.status is Status.RUNNING


@pytest.mark.parametrize(
    ("options", "blksize", "windowsize", "oack"),
    [
        ((), 512, 1, None),
        ((("blksize", "65464"),), 1400, 1, (("blksize", "1400"),)),  # lowered to the maximum
        ((("blksize", "4"),), 512, 1, None),  # out of range: not acknowledged
        ((("windowsize", "1000"),), 512, 8, (("windowsize", "8"),)),
        ((("timeout", "0"), ("unknown", "1")), 512, 1, None),
        ((("TSIZE", "0"),), 512, 1, (("tsize", "4321"),)),
    ],
)
def test_negotiate(options: Options, blksize: int, windowsize: int, oack: Options | None) -> None:
    config = TftpConfig(max_blksize=1400, max_windowsize=8)
    request = from_wire(RRQ("f", Mode.OCTET, options).to_wire())
    assert isinstance(request, RRQ)
    result = negotiate(request, 4321, config)
    assert (result.blksize, result.windowsize) == (blksize, windowsize)
    assert (result.oack.options if result.oack else None) == oack
