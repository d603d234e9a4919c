"""A worker's main loop, run in this process over a socket pair: the listener's side is the test."""

from __future__ import annotations

import asyncio
import os
import socket
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass

import pytest

from metalnet.boot import tftp_handoff as handoff
from metalnet.boot.tftp_channel import Channel
from metalnet.boot.tftp_config import TftpConfig
from metalnet.boot.tftp_transfer import Negotiation, Status
from metalnet.boot.tftp_worker import Worker
from metalnet.wire.tftp.packet import ACK, DATA, from_wire
from tests.support.waits import until

CONTENT = bytes(range(256)) * 4 + b"tail"  # two blocks of 512 and a short third


@dataclass
class Listener:
    """The listener's end of a worker's socket pair, keeping what the worker says."""

    channel: Channel
    said: list[handoff.Message]
    serving: asyncio.Task[None]
    read: int = 0

    async def next(self) -> handoff.Message:
        """The first message not read yet."""
        await until(lambda: len(self.said) > self.read, timeout=5)
        self.read += 1
        return self.said[self.read - 1]

    def start(self, transfer: int, client: socket.socket) -> None:
        """Hand over a transfer of CONTENT to ``client`` (a UDP socket on loopback)."""
        sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        sock.bind(("127.0.0.1", 0))
        sock.connect(client.getsockname())
        fd = os.memfd_create("content", os.MFD_CLOEXEC)
        os.write(fd, CONTENT)
        try:
            message = handoff.encode_start(transfer, len(CONTENT), Negotiation())
            self.channel.send(message, [sock.fileno(), fd])
        finally:
            sock.close()
            os.close(fd)


@pytest.fixture
async def listener() -> AsyncIterator[Listener]:
    ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    config = TftpConfig(retransmit_timeout=0.05, max_retransmit_timeout=0.1, max_retries=50)
    serving = asyncio.get_running_loop().create_task(Worker(theirs, config).serve())
    said: list[handoff.Message] = []
    channel = Channel(ours, lambda data, fds: said.append(handoff.decode(data)), lambda: None)
    end = Listener(channel, said, serving)
    assert await end.next() == handoff.Ready()
    try:
        yield end
    finally:
        channel.shutdown()
        await asyncio.wait_for(serving, 5)
        channel.close()


@pytest.fixture
def client() -> Iterator[socket.socket]:
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("127.0.0.1", 0))
    sock.setblocking(False)
    yield sock
    sock.close()


async def test_a_handed_transfer_runs_and_is_reported(
    listener: Listener, client: socket.socket
) -> None:
    listener.start(1, client)
    loop = asyncio.get_running_loop()
    received = b""
    for block in (1, 2, 3):
        data, server = await asyncio.wait_for(loop.sock_recvfrom(client, 1000), 5)
        packet = from_wire(data)
        assert isinstance(packet, DATA)
        assert packet.block == block
        received += packet.data
        client.sendto(ACK(block).to_wire(), server)
    assert received == CONTENT
    done = await listener.next()
    assert isinstance(done, handoff.Done)
    assert done.transfer == 1
    assert done.report.status is Status.COMPLETED
    assert done.report.counters.data_sent - done.report.counters.retransmits == 3
    assert done.report.counters.bytes_sent >= len(CONTENT)


async def test_cancel_ends_a_transfer(listener: Listener, client: socket.socket) -> None:
    listener.start(2, client)
    listener.channel.send(handoff.encode_cancel(2))
    listener.channel.send(handoff.encode_cancel(99))  # not running: nothing to say
    done = await listener.next()
    assert isinstance(done, handoff.Done)
    assert done.transfer == 2
    assert (done.report.status, done.report.reason) == (Status.FAILED, "cancelled")


async def test_the_end_of_the_listener_cancels_and_reports_what_runs(
    listener: Listener, client: socket.socket
) -> None:
    listener.start(3, client)
    listener.start(4, client)
    await asyncio.sleep(0.05)
    listener.channel.shutdown()
    await asyncio.wait_for(listener.serving, 5)
    said = [await listener.next(), await listener.next()]
    reports = {m.transfer: m.report.reason for m in said if isinstance(m, handoff.Done)}
    assert reports == {3: "cancelled", 4: "cancelled"}


async def test_malformed_messages_do_not_stop_the_worker(
    listener: Listener, client: socket.socket
) -> None:
    listener.channel.send(b"junk")  # nothing to report: no transfer named
    listener.channel.send(handoff.READY)  # a listener's message, not a worker's
    listener.channel.send(handoff.encode_start(5, 10, Negotiation()))  # without descriptors
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as wrong:
        message = handoff.encode_start(6, 10, Negotiation())
        listener.channel.send(message, [wrong.fileno(), wrong.fileno()])
    for transfer in (5, 6):
        done = await listener.next()
        assert isinstance(done, handoff.Done)
        assert done.transfer == transfer
        assert done.report.status is Status.FAILED
        assert done.report.reason.startswith("bad hand-off")
    await test_a_handed_transfer_runs_and_is_reported(listener, client)
