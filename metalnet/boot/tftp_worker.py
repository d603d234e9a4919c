"""A transfer worker: a process that runs the TFTP transfers its listener hands it.

:mod:`metalnet.boot.tftp_workers` starts it as ``python -m metalnet.boot.tftp_worker
FD CONFIG``: FD is its end of a ``SOCK_SEQPACKET`` socket pair, CONFIG the
listener's :class:`~metalnet.boot.tftp_config.TftpConfig` as JSON. It says
``ready``, then runs each transfer it is handed with a
:class:`~metalnet.boot.tftp_runner.LocalRunner`, the listener's own way, and sends
back its report (:mod:`metalnet.boot.tftp_handoff`). When the listener's end
closes (the server stops, or its process died) it cancels what still runs,
reports it, and exits. A malformed message is logged and, when its transfer can
be told, reported as failed; it never stops the worker.
"""

from __future__ import annotations

import asyncio
import functools
import json
import logging
import os
import signal
import socket
import stat
import sys

import uvloop

from metalnet.boot import tftp_handoff as handoff
from metalnet.boot.sources import OpenedFile
from metalnet.boot.tftp_channel import Channel
from metalnet.boot.tftp_config import TftpConfig
from metalnet.boot.tftp_runner import Cancel, LocalRunner, Report
from metalnet.boot.tftp_transfer import Status

log = logging.getLogger(__name__)

_FLUSH_TIMEOUT = 5.0  # for the last reports, once the listener has closed its end


class Worker:
    """Runs the transfers the listener sends over ``sock`` (a ``SOCK_SEQPACKET`` end)."""

    def __init__(self, sock: socket.socket, config: TftpConfig) -> None:
        self._runner = LocalRunner(config)
        self._cancels: dict[int, Cancel] = {}
        self._ended: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._channel = Channel(sock, self._on_message, self._on_end, max_fds=2)

    async def serve(self) -> None:
        """Say ready and run transfers until the listener closes its end; report every one."""
        self._send(handoff.READY)
        await self._ended
        await self._runner.close()
        await self._channel.flush(_FLUSH_TIMEOUT)
        self._channel.close()

    def _on_message(self, data: bytes, fds: list[int]) -> None:
        try:
            message = handoff.decode(data)
            if isinstance(message, handoff.Start):
                self._start(message, fds)
                fds = []  # the transfer has them now
            elif isinstance(message, handoff.Cancel):
                cancel = self._cancels.get(message.transfer)
                if cancel is not None:  # else it has ended already, and said so
                    cancel()
            else:
                raise handoff.HandoffError(f"{type(message).__name__} is not for a worker")
        except handoff.HandoffError as exc:
            log.warning("tftp worker: malformed message from the listener: %s", exc)
            if exc.transfer is not None:
                self._finished(exc.transfer, Report(Status.FAILED, f"bad hand-off: {exc}"))
        finally:
            for fd in fds:
                os.close(fd)

    def _start(self, start: handoff.Start, fds: list[int]) -> None:
        """Run ``start``'s transfer over ``fds``, which it takes unless it raises."""
        try:
            modes = [os.fstat(fd).st_mode for fd in fds]
        except OSError as exc:
            raise handoff.HandoffError(str(exc), start.transfer) from None
        if len(modes) != 2 or not stat.S_ISSOCK(modes[0]) or not stat.S_ISREG(modes[1]):
            raise handoff.HandoffError("start needs a socket and a file", start.transfer)
        sock = socket.socket(fileno=fds[0])
        if sock.type != socket.SOCK_DGRAM:
            sock.detach()
            raise handoff.HandoffError("the socket is not a datagram socket", start.transfer)
        sock.setblocking(False)
        file = OpenedFile(os.fdopen(fds[1], "rb", buffering=0), start.size)
        finish = functools.partial(self._finished, start.transfer)
        self._cancels[start.transfer] = self._runner.run(sock, file, start.negotiation, finish)

    def _finished(self, transfer: int, report: Report) -> None:
        self._cancels.pop(transfer, None)
        self._send(handoff.encode_done(transfer, report))

    def _send(self, data: bytes) -> None:
        try:
            self._channel.send(data)
        except OSError as exc:  # the listener has gone: nobody is left to tell
            log.debug("tftp worker: cannot report: %s", exc)
            self._on_end()

    def _on_end(self) -> None:
        if not self._ended.done():
            self._ended.set_result(None)


async def _main(fd: int, config: TftpConfig) -> None:
    await Worker(socket.socket(fileno=fd), config).serve()


def main(argv: list[str] | None = None) -> None:
    """Serve the listener on the descriptor ``argv[0]`` with the config ``argv[1]`` (JSON)."""
    args = sys.argv[1:] if argv is None else argv
    fd, config = int(args[0]), TftpConfig(**json.loads(args[1]))
    # Ctrl-C reaches the whole process group: the listener stops its workers itself.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    logging.basicConfig(
        level=logging.WARNING, format=f"tftp worker {os.getpid()}: %(levelname)s %(message)s"
    )
    uvloop.run(_main(fd, config))


if __name__ == "__main__":
    main()
