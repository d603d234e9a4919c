"""One end of the socket pair between the TFTP listener and a worker, on the running loop.

A ``SOCK_SEQPACKET`` Unix socket keeps each message whole and carries descriptors
with it (``SCM_RIGHTS``). :meth:`Channel.send` never blocks: what the peer cannot
take yet waits in order, holding copies of its descriptors, until the socket is
writable again.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
from collections import deque
from collections.abc import Callable, Sequence

from metalnet.boot.tftp_handoff import MAX_MESSAGE

log = logging.getLogger(__name__)


class Channel:
    """Messages over ``sock``, a ``SOCK_SEQPACKET`` end that the channel owns from now on.

    :param on_message: called with each message and the descriptors that came with it
        (at most ``max_fds``; they are the callee's to close). A message that arrived
        cut short comes as ``b""`` without descriptors.
    :param on_end: called once when nothing more will arrive: the peer closed or shut
        down its end, or the socket failed. Sending may still work after the first.
    """

    def __init__(
        self,
        sock: socket.socket,
        on_message: Callable[[bytes, list[int]], None],
        on_end: Callable[[], None],
        max_fds: int = 0,
    ) -> None:
        sock.setblocking(False)
        self._sock = sock
        self._fd = sock.fileno()
        self._on_message = on_message
        self._on_end = on_end
        self._max_fds = max_fds
        self._outbox: deque[tuple[bytes, list[int]]] = deque()
        self._flushed: asyncio.Future[None] | None = None
        self._shutdown_pending = False
        self._ended = False
        self.closed = False
        self._loop = asyncio.get_running_loop()
        self._loop.add_reader(self._fd, self._on_readable)

    def send(self, data: bytes, fds: Sequence[int] = ()) -> None:
        """Send ``data`` with copies of ``fds`` (the caller keeps and closes its own).

        :raises OSError: the channel is closed or shut down, or the peer has gone.
        """
        if self.closed or self._shutdown_pending:
            raise BrokenPipeError("the channel is closed")
        if not self._outbox:
            try:
                self._send_now(data, fds)
                return
            except BlockingIOError:
                self._loop.add_writer(self._fd, self._on_writable)
        copies: list[int] = []
        try:
            for fd in fds:
                copies.append(os.dup(fd))
        except OSError:
            _close_all(copies)
            raise
        self._outbox.append((data, copies))

    async def flush(self, timeout: float) -> None:
        """Wait until every message has been sent, at most ``timeout`` seconds."""
        if not self._outbox or self.closed:
            return
        if self._flushed is None:
            self._flushed = self._loop.create_future()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(asyncio.shield(self._flushed), timeout)

    def shutdown(self) -> None:
        """Send nothing more; the peer reads end of file once what waits has gone out."""
        self._shutdown_pending = True
        if not self._outbox and not self.closed:
            self._shut_write()

    def close(self) -> None:
        """Stop reading and writing and close the socket (messages waiting are dropped)."""
        if self.closed:
            return
        self.closed = True
        self._loop.remove_reader(self._fd)
        self._loop.remove_writer(self._fd)
        for _, copies in self._outbox:
            _close_all(copies)
        self._outbox.clear()
        self._wake_flush()
        self._sock.close()

    def _send_now(self, data: bytes, fds: Sequence[int]) -> None:
        if fds:
            socket.send_fds(self._sock, [data], list(fds))
        else:
            self._sock.send(data)

    def _shut_write(self) -> None:
        with contextlib.suppress(OSError):  # the peer has gone already: the reader sees it
            self._sock.shutdown(socket.SHUT_WR)

    def _on_writable(self) -> None:
        while self._outbox:
            data, copies = self._outbox[0]
            try:
                self._send_now(data, copies)
            except BlockingIOError:
                return
            except OSError:
                self._broken()
                return
            self._outbox.popleft()
            _close_all(copies)
        self._loop.remove_writer(self._fd)
        self._wake_flush()
        if self._shutdown_pending:
            self._shut_write()

    def _wake_flush(self) -> None:
        if self._flushed is not None and not self._flushed.done():
            self._flushed.set_result(None)
        self._flushed = None

    def _on_readable(self) -> None:
        # One message per call: the selector calls again while more are queued.
        try:
            data, fds, flags, _ = socket.recv_fds(
                self._sock, MAX_MESSAGE, self._max_fds, socket.MSG_CMSG_CLOEXEC
            )
        except BlockingIOError:
            return
        except OSError:
            self._broken()
            return
        if not data and not fds:  # end of file: no empty message is ever sent
            self._loop.remove_reader(self._fd)
            self._end()
            return
        if flags & (socket.MSG_TRUNC | socket.MSG_CTRUNC):
            log.warning("tftp: a message from the other side was cut short")
            _close_all(fds)
            data, fds = b"", []
        self._on_message(data, fds)

    def _broken(self) -> None:
        """The socket failed: close it and say the other side has gone."""
        self.close()
        self._end()

    def _end(self) -> None:
        if not self._ended:
            self._ended = True
            self._on_end()


def _close_all(fds: Sequence[int]) -> None:
    for fd in fds:
        os.close(fd)
