"""Drives one :class:`~metalnet.boot.tftp_transfer.Transfer` over its own UDP socket.

The socket is bound to an ephemeral port (the server's TID, RFC 1350) and
connected to the client, so the kernel drops datagrams from any other source
instead of this code answering them with ERROR 5, and an ICMP "port
unreachable" ends the session at once. The transfer's exchanges run on a thread
of the runner's pool: the compiled data phase waits on the socket there with the
GIL released, and comes back to this task only when the transfer needs a decision
(a timeout, the client's ERROR, the end). Sessions run in the listener or in a
transfer worker, both through :mod:`metalnet.boot.tftp_runner`.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import os
import socket
from concurrent.futures import Executor

from metalnet.boot.sources import OpenedFile
from metalnet.boot.tftp_config import TftpConfig, TftpCounters
from metalnet.boot.tftp_transfer import Negotiation, Outcome, Transfer


async def run_session(
    sock: socket.socket,
    file: OpenedFile,
    negotiation: Negotiation,
    config: TftpConfig,
    counters: TftpCounters,
    threads: Executor,
) -> Transfer:
    """Send ``file`` over ``sock``; return the finished transfer (its ``status``, ``reason``).

    :param sock: a non-blocking UDP socket already bound and connected to the client;
        closed here, like ``file``.
    :param threads: where exchanges run; it needs a thread per running transfer.
    """
    stop = os.eventfd(0, os.EFD_CLOEXEC)
    try:
        transfer = Transfer(sock, file, negotiation, config, counters)
        transfer.start()
        while not transfer.done:
            outcome = await _exchange(transfer, threads, stop)
            transfer.handle(outcome)
            if outcome.timed_out:
                transfer.expire()
    finally:
        os.close(stop)
        sock.close()
        file.close()
    return transfer


async def _exchange(transfer: Transfer, threads: Executor, stop: int) -> Outcome:
    future = threads.submit(transfer.exchange, stop)
    try:
        return await asyncio.wrap_future(future)
    except asyncio.CancelledError:
        # The thread still uses the socket and the file: stop it before they close.
        os.eventfd_write(stop, 1)
        concurrent.futures.wait([future])
        if not future.cancelled():
            transfer.handle(future.result())  # keeps the counts of what was sent
        raise
