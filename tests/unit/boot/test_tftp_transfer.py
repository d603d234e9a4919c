"""One transfer, its compiled data phase included, against a model client.

The transfer sends on one end of a loopback UDP pair; the test plays the client
on the other. Each exchange runs without waiting (``timeout=0``): loopback hands a
datagram over before ``send`` returns, so what the client sent is there to read.
A "timeout" is the test calling :meth:`Transfer.expire` when it has nothing left
to read.
"""

from __future__ import annotations

import os
import random
import select
import socket
import threading
from collections.abc import Callable, Iterator

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from metalnet.boot import _tftp_blocks
from metalnet.boot.sources import OpenedFile
from metalnet.boot.tftp_config import TftpConfig, TftpCounters
from metalnet.boot.tftp_transfer import Status, Transfer, negotiate
from metalnet.wire.errors import WireError
from metalnet.wire.tftp.packet import ACK, DATA, ERROR, OACK, RRQ, Mode, from_wire

Options = tuple[tuple[str, str], ...]


class Link:
    """A :class:`Transfer` on one end of a UDP pair, and the client's end."""

    def __init__(self, file: OpenedFile, options: Options, config: TftpConfig) -> None:
        self.server = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.client = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        for sock in (self.server, self.client):
            sock.bind(("127.0.0.1", 0))
            sock.setblocking(False)
        self.server.connect(self.client.getsockname())
        self.client.connect(self.server.getsockname())
        self.file = file
        self.counters = TftpCounters()
        negotiation = negotiate(RRQ("f", Mode.OCTET, options), file.size, config)
        self.transfer = Transfer(self.server, file, negotiation, config, self.counters)
        self.blocks_seen: list[int] = []

    def step(self) -> None:
        """One exchange that does not wait: send what is due, answer what arrived."""
        self.transfer.handle(self.transfer.exchange(timeout=0))

    def start(self) -> None:
        self.transfer.start()
        self.step()

    def send(self, datagram: bytes) -> None:
        """The client sends ``datagram``; the transfer answers it."""
        self.client.send(datagram)
        self.step()

    def receive(self) -> bytes | None:
        """The next datagram the client has, if any."""
        try:
            return self.client.recv(70_000)
        except BlockingIOError:
            return None

    def received(self) -> list[bytes]:
        """Everything the client has to read."""
        return list(iter(self.receive, None))

    def blocks(self) -> list[int]:
        return [from_wire(d).block for d in self.received()]  # type: ignore[union-attr]

    def close(self) -> None:
        self.server.close()
        self.client.close()
        self.file.close()


@pytest.fixture
def make() -> Iterator[Callable[..., Link]]:
    links: list[Link] = []

    def make(
        content: bytes | OpenedFile,
        options: Options = (),
        config: TftpConfig | None = None,
        size: int | None = None,
    ) -> Link:
        file = content if isinstance(content, OpenedFile) else OpenedFile.of_bytes(content)
        if size is not None:
            file = OpenedFile(file.stream, size)
        links.append(Link(file, options, config or TftpConfig(max_retries=3)))
        return links[-1]

    yield make
    for link in links:
        link.close()


def run_client(
    link: Link,
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
    link.start()
    for _ in range(max_steps):
        if link.transfer.done:
            return bytes(received)
        datagram = link.receive()
        if datagram is None:
            link.transfer.expire()
            link.step()
            continue
        index += 1
        if lose(index):
            continue
        packet = from_wire(datagram)
        if isinstance(packet, OACK):
            link.send(ACK(0).to_wire())
            continue
        assert isinstance(packet, DATA)
        link.blocks_seen.append(packet.block)
        if packet.block != expected & 0xFFFF:
            link.send(ACK((expected - 1) & 0xFFFF).to_wire())
            in_window = 0
            continue
        received += packet.data
        expected += 1
        in_window += 1
        if len(packet.data) < blksize or in_window == windowsize:
            in_window = 0
            link.send(ACK(packet.block).to_wire())
    raise AssertionError("transfer did not end")


CONTENT = bytes(range(256)) * 40  # 10240 bytes: exactly 20 blocks of 512


@pytest.mark.parametrize("size", [0, 1, 511, 512, 513, 1500, 10240])
def test_plain_transfer_without_options(make: Callable[..., Link], size: int) -> None:
    link = make(CONTENT[:size])
    assert run_client(link) == CONTENT[:size]
    assert link.transfer.status is Status.COMPLETED
    assert link.counters.data_sent == size // 512 + 1  # a multiple of 512 ends with an empty block
    assert link.counters.bytes_sent == size
    assert link.counters.retransmits == 0


def test_first_packet_without_options_is_block_one(make: Callable[..., Link]) -> None:
    link = make(b"abc")
    link.start()
    assert link.received() == [DATA(1, b"abc").to_wire()]


def test_oack_answers_options_in_request_order(make: Callable[..., Link]) -> None:
    options = (("tsize", "0"), ("foo", "bar"), ("blksize", "1468"), ("windowsize", "4"))
    link = make(CONTENT, options)
    link.start()
    assert [from_wire(d) for d in link.received()] == [
        OACK((("tsize", str(len(CONTENT))), ("blksize", "1468"), ("windowsize", "4")))
    ]  # and no block before the client acknowledges it
    assert link.counters.oacks_sent == 1


def test_windowed_transfer_sends_each_block_once(make: Callable[..., Link]) -> None:
    link = make(CONTENT, (("blksize", "1000"), ("windowsize", "4")))
    assert run_client(link, blksize=1000, windowsize=4) == CONTENT
    assert link.counters.data_sent == 11
    assert link.counters.retransmits == 0


def test_window_is_sent_whole_before_waiting(make: Callable[..., Link]) -> None:
    link = make(CONTENT, (("windowsize", "4"),))
    link.start()
    link.received()
    link.send(ACK(0).to_wire())
    assert link.blocks() == [1, 2, 3, 4]


def test_ack_inside_the_window_rewinds_after_the_acknowledged_block(
    make: Callable[..., Link],
) -> None:
    link = make(CONTENT, (("windowsize", "4"),))
    link.start()
    link.send(ACK(0).to_wire())
    link.received()
    link.send(ACK(2).to_wire())  # the client got 1-2, lost 3
    assert link.blocks() == [3, 4, 5, 6]
    assert link.counters.retransmits == 2


def test_duplicate_ack_sends_nothing(make: Callable[..., Link]) -> None:
    """Sorcerer's Apprentice: a delayed duplicate ACK must not double the following traffic."""
    link = make(CONTENT)
    link.start()
    link.send(ACK(1).to_wire())
    link.received()
    link.send(ACK(1).to_wire())
    link.send(ACK(0).to_wire())
    assert link.received() == []
    assert link.counters.drops == {"duplicate-ack": 1, "stale-ack": 1}


def test_ack_for_a_block_never_sent_is_ignored(make: Callable[..., Link]) -> None:
    link = make(CONTENT)
    link.start()
    link.received()
    link.send(ACK(5).to_wire())
    assert link.received() == []
    assert link.counters.drops == {"stale-ack": 1}


def test_ack_other_than_zero_before_the_oack_is_acknowledged(make: Callable[..., Link]) -> None:
    link = make(CONTENT, (("tsize", "0"),))
    link.start()
    link.received()
    link.send(ACK(1).to_wire())
    assert link.received() == []
    assert link.counters.drops == {"unexpected-ack": 1}


def test_timeout_resends_window_and_doubles_timeout_then_gives_up(
    make: Callable[..., Link],
) -> None:
    config = TftpConfig(retransmit_timeout=0.5, max_retransmit_timeout=1.5, max_retries=3)
    link = make(CONTENT, (("windowsize", "2"),), config)
    link.start()
    link.send(ACK(0).to_wire())
    link.received()
    timeouts = []
    for _ in range(3):
        link.transfer.expire()
        link.step()
        timeouts.append(link.transfer.timeout)
    assert timeouts == [1.0, 1.5, 1.5]
    assert link.blocks() == [1, 2] * 3
    assert link.counters.retransmits == 6
    link.transfer.expire()
    assert link.transfer.status is Status.FAILED
    assert link.transfer.reason == "timeout"


def test_progress_resets_the_timeout(make: Callable[..., Link]) -> None:
    link = make(CONTENT, config=TftpConfig(retransmit_timeout=1.0))
    link.start()
    link.transfer.expire()
    link.step()
    assert link.transfer.timeout == 2.0
    link.send(ACK(1).to_wire())
    assert link.transfer.timeout == 1.0


def test_unacknowledged_oack_is_resent(make: Callable[..., Link]) -> None:
    link = make(CONTENT, (("tsize", "0"),))
    link.start()
    link.transfer.expire()
    link.step()
    sent = link.received()
    assert len(sent) == 2
    assert sent[0] == sent[1]
    assert link.counters.oacks_sent == 2
    assert link.counters.retransmits == 1


def test_negotiated_timeout_is_the_base_timeout(make: Callable[..., Link]) -> None:
    link = make(CONTENT, (("timeout", "3"),))
    assert link.transfer.timeout == 3.0


def test_ovmf_size_probe_ends_as_aborted(make: Callable[..., Link]) -> None:
    options = (("tsize", "0"), ("blksize", "1468"), ("windowsize", "4"))
    link = make(CONTENT, options)
    link.start()
    link.send(ERROR(8, "").to_wire())
    assert link.transfer.status is Status.ABORTED
    assert link.counters.errors_received == 1
    assert link.counters.data_sent == 0


@pytest.mark.parametrize("loss", [0.05, 0.3])
@pytest.mark.parametrize("windowsize", [1, 4, 16])
def test_lossy_link_still_delivers_everything(
    make: Callable[..., Link], loss: float, windowsize: int
) -> None:
    content = bytes(i % 251 for i in range(50_000))
    options = (("blksize", "700"), ("windowsize", str(windowsize)))
    link = make(content, options, TftpConfig(max_retries=50))
    chance = random.Random(windowsize).random
    received = run_client(link, blksize=700, windowsize=windowsize, lose=lambda _: chance() < loss)
    assert received == content
    assert link.counters.retransmits > 0


def test_block_numbers_roll_over_to_zero(make: Callable[..., Link]) -> None:
    content = bytes(i % 253 for i in range(8 * 70_000))  # 70001 blocks of 8 bytes
    options = (("blksize", "8"), ("windowsize", "64"))
    link = make(content, options, TftpConfig(max_windowsize=64))
    assert run_client(link, blksize=8, windowsize=64) == content
    assert link.blocks_seen[65534:65537] == [65535, 0, 1]
    assert link.counters.data_sent == 70_001


def test_file_that_shrank_fails_with_an_error_packet(make: Callable[..., Link]) -> None:
    link = make(b"abc", size=2000)
    link.start()
    assert link.transfer.status is Status.FAILED
    assert link.received() == [ERROR(0, "file changed while being sent").to_wire()]


def test_file_that_cannot_be_read_fails_with_an_error_packet(
    make: Callable[..., Link], tmp_path: os.PathLike[str]
) -> None:
    path = os.path.join(tmp_path, "f")
    with open(path, "wb") as f:
        f.write(b"x" * 100)
    write_only = os.fdopen(os.open(path, os.O_WRONLY), "wb", buffering=0)
    link = make(OpenedFile(write_only, 100))
    link.start()
    assert link.transfer.status is Status.FAILED
    assert link.transfer.reason == "read failed: Bad file descriptor"
    assert link.counters.errors_sent == 1


def test_malformed_and_unexpected_datagrams_are_counted(make: Callable[..., Link]) -> None:
    link = make(CONTENT)
    link.start()
    link.send(b"\x00")
    link.send(b"")
    link.send(b"\x00\x04\x00\x01\x00")  # an ACK with a byte too many
    link.send(DATA(1, b"x").to_wire())
    assert link.counters.drops == {"malformed": 3, "unexpected-packet": 1}
    assert link.transfer.status is Status.RUNNING


def test_a_client_gone_away_ends_the_transfer(make: Callable[..., Link]) -> None:
    link = make(CONTENT)
    link.start()
    link.client.close()  # the next block meets ICMP port unreachable
    link.server.send(b"\x00\x05\x00\x00x\x00")  # provoke the ICMP error
    link.step()
    assert link.transfer.status is Status.FAILED
    assert link.transfer.reason == "client unreachable: Connection refused"


def test_stop_descriptor_ends_a_waiting_exchange(make: Callable[..., Link]) -> None:
    link = make(CONTENT)
    stop = os.eventfd(0, os.EFD_CLOEXEC)
    outcomes = []
    thread = threading.Thread(target=lambda: outcomes.append(link.transfer.exchange(stop, 30)))
    thread.start()
    try:
        assert select.select([link.client], [], [], 10)[0]  # block 1 went out
        with pytest.raises(RuntimeError, match="running in another thread"):
            link.transfer.exchange(timeout=0)
    finally:
        os.eventfd_write(stop, 1)
        thread.join(10)
        os.close(stop)
    assert outcomes[0].event == _tftp_blocks.STOPPED
    link.transfer.handle(outcomes[0])
    assert (link.transfer.status, link.transfer.reason) == (Status.FAILED, "stopped")
    assert link.counters.data_sent == 1


@pytest.mark.parametrize(
    "arguments",
    [
        (0, 0, 10, 7, 1, False),  # blksize below 8
        (0, 0, 10, 65465, 1, False),  # blksize above 65464
        (0, 0, 10, 512, 0, False),  # windowsize 0
        (0, 0, 10, 512, 65536, False),
        (-1, 0, 10, 512, 1, False),
        (0, 0, -1, 512, 1, False),
    ],
)
def test_block_sender_refuses_bad_parameters(arguments: tuple[int, ...]) -> None:
    with pytest.raises(ValueError):
        _tftp_blocks.BlockSender(*arguments)


@pytest.mark.parametrize("timeout", [-1.0, float("nan"), 1e9])
def test_block_sender_refuses_bad_timeouts(timeout: float) -> None:
    sender = _tftp_blocks.BlockSender(0, 0, 10, 512, 1, True)
    with pytest.raises(ValueError, match="timeout"):
        sender.run(timeout)


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


@settings(max_examples=200, deadline=None)
@given(st.one_of(st.binary(max_size=8), st.binary(max_size=4).map(lambda tail: b"\x00\x04" + tail)))
def test_the_data_phase_takes_as_ack_exactly_what_the_decoder_does(datagram: bytes) -> None:
    """The compiled side answers ACKs itself and hands everything else to the decoder."""
    link = Link(OpenedFile.of_bytes(CONTENT), (), TftpConfig())
    try:
        link.start()
        link.send(datagram)
        try:
            packet: object = from_wire(datagram)
        except WireError:
            packet = None
        handed_over = sum(link.counters.drops.get(r, 0) for r in ("malformed", "unexpected-packet"))
        handed_over += link.counters.errors_received
        assert handed_over == (0 if isinstance(packet, ACK) else 1)
    finally:
        link.close()
