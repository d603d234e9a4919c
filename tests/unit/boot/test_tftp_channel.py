"""The listener-worker channel: sends never block; what waits keeps its order and descriptors."""

from __future__ import annotations

import os
import socket

from metalnet.boot.tftp_channel import Channel
from tests.support.waits import until


def memfd_holding(content: bytes) -> int:
    fd = os.memfd_create("test", os.MFD_CLOEXEC)
    os.write(fd, content)
    return fd


def receive(sock: socket.socket) -> tuple[bytes, list[int]] | None:
    try:
        data, fds, _, _ = socket.recv_fds(sock, 65536, 2)
    except BlockingIOError:
        return None
    return data, fds


async def test_what_the_peer_cannot_take_yet_waits_in_order() -> None:
    ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    ours.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 4096)
    theirs.setblocking(False)
    channel = Channel(ours, lambda data, fds: None, lambda: None)
    try:
        for i in range(100):
            fd = memfd_holding(bytes([i]))
            channel.send(b"%d:" % i + b"x" * 2000, [fd])
            os.close(fd)  # the channel keeps a copy while the message waits
        channel.shutdown()
        got: list[tuple[bytes, list[int]]] = []

        def more() -> bool:
            message = receive(theirs)
            if message is not None:
                got.append(message)
            return bool(got) and got[-1] == (b"", [])  # end of file: all went out

        await until(more)
        assert len(got) == 101
        for i, (data, fds) in enumerate(got[:100]):
            assert data.startswith(b"%d:" % i)
            assert len(fds) == 1
            assert os.pread(fds[0], 1, 0) == bytes([i])
            os.close(fds[0])
    finally:
        channel.close()
        theirs.close()


async def test_the_end_of_the_peer_is_told_once() -> None:
    ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    messages: list[bytes] = []
    ends: list[bool] = []
    channel = Channel(ours, lambda data, fds: messages.append(data), lambda: ends.append(True))
    try:
        theirs.send(b"last words")
        theirs.close()
        await until(lambda: ends == [True])
        assert messages == [b"last words"]
    finally:
        channel.close()


async def test_a_message_cut_short_comes_empty() -> None:
    ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    messages: list[tuple[bytes, list[int]]] = []
    channel = Channel(ours, lambda data, fds: messages.append((data, fds)), lambda: None)
    fd = memfd_holding(b"x")
    try:
        socket.send_fds(theirs, [b"hello"], [fd])  # this end takes no descriptors
        await until(lambda: len(messages) == 1)
        assert messages == [(b"", [])]
    finally:
        os.close(fd)
        channel.close()
        theirs.close()
