"""The TFTP listener: parses requests on the well-known port and starts one transfer each.

Read-only: write requests get ERROR 2. Refusals (missing file, refused path,
write, limits, malformed request) are answered from the listening socket, so a
flood of bad requests never costs a socket. An accepted read gets its own socket
and runs as its own task (:mod:`metalnet.boot.tftp_session`): in a transfer worker
process (:mod:`metalnet.boot.tftp_workers`) when ``TftpConfig.workers`` is set,
else, or while no worker is ready, in the listener's process. Policy (paths,
rendered files, limits, duplicate requests), counters and events stay here.

Run standalone with ``python -m metalnet.boot.tftp_server --root DIR --listen HOST:PORT``
(``--workers N``, default one per CPU).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import functools
import logging
import signal
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import uvloop

from metalnet.boot import events
from metalnet.boot.errors import AccessDenied, FileNotFound
from metalnet.boot.events import EventHook
from metalnet.boot.sources import FileSource, StaticRoot
from metalnet.boot.tftp_config import TftpConfig, TftpCounters, cpu_workers
from metalnet.boot.tftp_runner import LocalRunner, Report
from metalnet.boot.tftp_transfer import Status, negotiate
from metalnet.boot.tftp_workers import WorkerPool
from metalnet.errors import MetalnetError
from metalnet.wire.errors import WireError
from metalnet.wire.tftp.packet import ERROR, RRQ, WRQ, ErrorCode, from_wire

log = logging.getLogger(__name__)

Address = tuple[str, int]


@dataclass(slots=True, eq=False)
class _Active:
    """A transfer from start to report."""

    client: Address
    path: str
    size: int
    request: bytes
    started: float = field(default_factory=time.monotonic)
    cancel: Callable[[], object] = field(default=lambda: None)  # set once it runs


class _Listener(asyncio.DatagramProtocol):
    def __init__(self, server: TftpServer) -> None:
        self._server = server
        self.closed: asyncio.Future[None] = asyncio.get_running_loop().create_future()

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.closed.done():
            self.closed.set_result(None)

    def datagram_received(self, data: bytes, addr: tuple[str | Any, int]) -> None:
        self._server.handle_request(data, (str(addr[0]), int(addr[1])))

    def error_received(self, exc: Exception) -> None:
        log.debug("tftp listener: %s", exc)


class TftpServer:
    """A read-only TFTP server over a :class:`~metalnet.boot.sources.FileSource`.

    :param source: where files come from.
    :param config: limits and timers.
    :param on_event: called with the events of :mod:`metalnet.boot.events`.
    """

    def __init__(
        self,
        source: FileSource,
        config: TftpConfig | None = None,
        *,
        on_event: EventHook | None = None,
    ) -> None:
        self.source = source
        self.config = config or TftpConfig()
        self.counters = TftpCounters()
        self._on_event = on_event
        self._transport: asyncio.DatagramTransport | None = None
        self._listener: _Listener | None = None
        self._host = ""
        self._sessions: dict[Address, _Active] = {}
        self._per_client: dict[str, int] = {}
        self._local = LocalRunner(self.config)
        self._pool: WorkerPool | None = None

    @property
    def address(self) -> Address:
        """The bound ``(host, port)``; valid after :meth:`start`."""
        if self._transport is None:
            raise RuntimeError("the TFTP server is not started")
        host, port = self._transport.get_extra_info("sockname")[:2]
        return str(host), int(port)

    @property
    def session_count(self) -> int:
        """Transfers running now."""
        return len(self._sessions)

    @property
    def worker_pids(self) -> list[int]:
        """The process ids of the transfer workers taking transfers now."""
        return self._pool.pids if self._pool is not None else []

    async def start(self, host: str = "0.0.0.0", port: int = 69) -> Address:
        """Bind the listener (port 0 picks a free one); return the bound address.

        Sessions bind to the same ``host``: give the address clients were told
        (DHCP next-server), since with a wildcard the kernel chooses the reply's
        source address by route.
        """
        loop = asyncio.get_running_loop()
        self._transport, self._listener = await loop.create_datagram_endpoint(
            lambda: _Listener(self), local_addr=(host, port)
        )
        self._host = host
        if self.config.workers:
            self._pool = WorkerPool(self.config.workers, self.config)
            try:
                await self._pool.start()
            except BaseException:
                await self.close()
                raise
        return self.address

    async def close(self) -> None:
        """Stop listening, cancel running transfers and stop the workers.

        On return every transfer has been reported and the port is free. (A transport
        closes its socket on a later loop iteration: wait for it, so a server started
        right after on the same port can bind.)
        """
        if self._transport is not None:
            self._transport.close()
            self._transport = None
        await self._local.close()
        if self._pool is not None:
            await self._pool.close()
            self._pool = None
        if self._listener is not None:
            await self._listener.closed
            self._listener = None

    def handle_request(self, data: bytes, client: Address) -> None:
        """Answer one datagram that arrived on the listening port; never raises."""
        self.counters.requests += 1
        try:
            packet = from_wire(data)
        except WireError as exc:
            if data[:2] in (b"\0\1", b"\0\2"):
                # A request we cannot read (such as mode "mail"): say so, RFC 1350 code 4.
                self._refuse(client, "", ErrorCode.ILLEGAL_OPERATION, "malformed-request", str(exc))
            else:
                self.counters.drop("malformed")
            return
        if isinstance(packet, WRQ):
            self._refuse(
                client, packet.filename, ErrorCode.ACCESS_VIOLATION, "write-request", "read-only"
            )
            return
        if not isinstance(packet, RRQ):
            self.counters.drop("not-a-request")
            return
        try:
            self._start_transfer(packet, data, client)
        except Exception:  # a bad request must never stop the listener
            log.exception("tftp: request from %s:%s failed", *client)
            self.counters.drop("internal-error")

    def _start_transfer(self, request: RRQ, data: bytes, client: Address) -> None:
        existing = self._sessions.get(client)
        if existing is not None:
            if existing.request == data:
                # The client resent its request before our first answer reached it.
                self.counters.drop("duplicate-request")
                return
            existing.cancel()  # a new request from the same port replaces the old one
            self._forget(existing)
        if len(self._sessions) >= self.config.max_sessions:
            self._refuse(client, request.filename, ErrorCode.NOT_DEFINED, "too-many-sessions")
            return
        if self._per_client.get(client[0], 0) >= self.config.max_sessions_per_client:
            self._refuse(
                client, request.filename, ErrorCode.NOT_DEFINED, "too-many-client-sessions"
            )
            return
        try:
            file = self.source.open(request.filename)
        except FileNotFound:
            self._refuse(client, request.filename, ErrorCode.FILE_NOT_FOUND, "not-found")
            return
        except AccessDenied as exc:
            self._refuse(
                client, request.filename, ErrorCode.ACCESS_VIOLATION, "access-denied", exc.message
            )
            return
        except (MetalnetError, OSError) as exc:
            self._refuse(client, request.filename, ErrorCode.NOT_DEFINED, "open-failed", str(exc))
            return
        try:
            negotiation = negotiate(request, file.size, self.config)
            sock = self._session_socket(client)
        except OSError as exc:
            file.close()
            self._refuse(client, request.filename, ErrorCode.NOT_DEFINED, "socket-failed", str(exc))
            return
        active = _Active(client, request.filename, file.size, data)
        finish = functools.partial(self._finished, active)
        cancel = self._pool.run(sock, file, negotiation, finish) if self._pool else None
        if cancel is None:  # no workers, or none ready: the transfer runs in this loop
            cancel = self._local.run(sock, file, negotiation, finish)
        active.cancel = cancel
        self._sessions[client] = active
        self._per_client[client[0]] = self._per_client.get(client[0], 0) + 1
        self.counters.transfers_started += 1
        oack = negotiation.oack.options if negotiation.oack else ()
        self._emit(
            events.TFTP_TRANSFER_STARTED,
            client,
            request.filename,
            size=file.size,
            blksize=negotiation.blksize,
            windowsize=negotiation.windowsize,
            options=dict(oack),
        )

    def _session_socket(self, client: Address) -> socket.socket:
        family = socket.AF_INET6 if ":" in client[0] else socket.AF_INET
        sock = socket.socket(family, socket.SOCK_DGRAM)
        try:
            sock.setblocking(False)
            sock.bind((self._host, 0))
            sock.connect(client)
        except OSError:
            sock.close()
            raise
        return sock

    def _finished(self, active: _Active, report: Report) -> None:
        """Count and announce how a transfer ended, wherever it ran."""
        self._forget(active)
        self.counters.add(report.counters)
        client, path = active.client, active.path
        if report.status is Status.COMPLETED:
            self.counters.transfers_completed += 1
            self._emit(
                events.TFTP_TRANSFER_COMPLETED,
                client,
                path,
                size=active.size,
                seconds=round(time.monotonic() - active.started, 3),
                retransmits=report.counters.retransmits,
            )
        elif report.status is Status.ABORTED:
            self.counters.transfers_aborted_by_client += 1
            self._emit(events.TFTP_TRANSFER_ABORTED, client, path, reason=report.reason)
        else:
            self.counters.transfers_failed += 1
            self._emit(events.TFTP_TRANSFER_FAILED, client, path, reason=report.reason)

    def _forget(self, active: _Active) -> None:
        client = active.client
        if self._sessions.get(client) is active:
            del self._sessions[client]
            left = self._per_client[client[0]] - 1
            if left:
                self._per_client[client[0]] = left
            else:
                del self._per_client[client[0]]

    def _refuse(
        self, client: Address, path: str, code: ErrorCode, reason: str, message: str = ""
    ) -> None:
        self.counters.drop(reason)
        text = message or reason.replace("-", " ")
        if self._transport is not None:
            self.counters.errors_sent += 1
            self._transport.sendto(ERROR(code, text.replace("\0", "")).to_wire(), client)
        self._emit(events.TFTP_REQUEST_REFUSED, client, path, code=int(code), reason=reason)

    def _emit(self, name: str, client: Address, path: str, **details: object) -> None:
        if self._on_event is None:
            return
        try:
            self._on_event(name, client, path, **details)
        except Exception:  # the hook is someone else's code; the server goes on
            log.exception("tftp: event hook failed for %s", name)


def _parse_listen(value: str) -> Address:
    host, sep, port = value.rpartition(":")
    if not sep or not port.isdigit():
        raise argparse.ArgumentTypeError(f"expected HOST:PORT, got {value!r}")
    return host.strip("[]") or "0.0.0.0", int(port)


async def _serve(root: str, listen: Address, config: TftpConfig) -> None:
    server = TftpServer(StaticRoot(root), config)
    host, port = await server.start(*listen)
    print(f"tftp listening on {host}:{port}", flush=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    try:
        await stop.wait()
    finally:
        await server.close()
        print(f"tftp counters: {server.counters}", flush=True)


def main(argv: list[str] | None = None) -> None:
    """Serve ``--root`` read-only over TFTP on ``--listen`` until SIGINT or SIGTERM."""
    defaults = TftpConfig()
    parser = argparse.ArgumentParser(description="metalnet read-only TFTP server")
    parser.add_argument("--root", required=True, help="directory to serve")
    parser.add_argument("--listen", type=_parse_listen, default=("0.0.0.0", 69), help="HOST:PORT")
    parser.add_argument("--max-sessions", type=int, default=defaults.max_sessions)
    parser.add_argument(
        "--max-sessions-per-client", type=int, default=defaults.max_sessions_per_client
    )
    parser.add_argument("--max-windowsize", type=int, default=defaults.max_windowsize)
    parser.add_argument(
        "--workers",
        type=int,
        default=cpu_workers(),
        help="transfer worker processes (default: one per CPU; 0: all in the listener)",
    )
    args = parser.parse_args(argv)
    config = TftpConfig(
        max_sessions=args.max_sessions,
        max_sessions_per_client=args.max_sessions_per_client,
        max_windowsize=args.max_windowsize,
        workers=args.workers,
    )
    logging.basicConfig(level=logging.WARNING)
    with contextlib.suppress(KeyboardInterrupt):
        uvloop.run(_serve(args.root, args.listen, config))  # the loop `metalnet serve` runs


if __name__ == "__main__":
    main()
