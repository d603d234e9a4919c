"""The boot role of a host: TFTP and HTTP boot on each provisioning address.

Both serve the same source: per-machine files rendered from the view
(:mod:`metalnet.boot.machine_files`) over the boot directory, read-only. TFTP
transfers run in worker processes (:mod:`metalnet.boot.tftp_workers`), one per
CPU by default, shared out among the addresses, so bulk TFTP stays off the event
loop that answers DHCP.
"""

from __future__ import annotations

import contextlib
import logging
import socket
from dataclasses import asdict
from pathlib import Path
from typing import Any

import uvicorn
from starlette.types import ASGIApp, Receive, Scope, Send

from metalnet.boot import events
from metalnet.boot.events import EventHook
from metalnet.boot.http import create_boot_app
from metalnet.boot.machine_files import LocateUnknown, MachineFiles
from metalnet.boot.sources import Overlay, RenderedSource, StaticRoot
from metalnet.boot.tftp_config import TftpConfig, cpu_workers
from metalnet.boot.tftp_server import TftpServer
from metalnet.core.view import BootView
from metalnet.http_server import BackgroundServer

log = logging.getLogger(__name__)


def _listening_socket(host: str, port: int) -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.listen(512)
    sock.setblocking(False)
    return sock


_LOGGED = frozenset({
    events.TFTP_TRANSFER_COMPLETED, events.TFTP_TRANSFER_FAILED, events.TFTP_REQUEST_REFUSED,
    events.HTTP_TRANSFER_COMPLETED, events.HTTP_TRANSFER_FAILED, events.HTTP_REQUEST_REFUSED,
})


def _logging_hook(forward: EventHook | None) -> EventHook:
    """Logs finished and refused transfers at INFO (one line each), then calls ``forward``."""

    def hook(name: str, client: tuple[str, int], path: str, **details: object) -> None:
        if name in _LOGGED:
            extra = " ".join(f"{k}={v}" for k, v in details.items() if k != "options")
            log.info("%s %s %s %s", name, client[0], path, extra)
        if forward is not None:
            forward(name, client, path, **details)

    return hook


def _with_routes(boot_app: ASGIApp, routes: dict[str, ASGIApp]) -> ASGIApp:
    """``boot_app``, except for the exact paths in ``routes`` (e.g. ``/v1/discovery``)."""

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        target = routes.get(scope.get("path", "")) if scope["type"] == "http" else None
        await (target or boot_app)(scope, receive, send)

    return app


class BootService:
    """TFTP on ``tftp_port`` and HTTP on ``http_port`` of every address in ``addresses``.

    :param locate_unknown: MAC -> network of its dynamic lease (discovery boots).
    :param http_routes: more ASGI apps served on the boot HTTP port at exact paths
        (the machine-facing ``/v1/discovery``).
    :param tftp_workers: TFTP transfer worker processes in all (default: one per CPU),
        shared out among the addresses, at least one each; 0 runs transfers in this
        process's event loop.
    """

    def __init__(
        self,
        view: BootView,
        boot_dir: Path,
        addresses: list[str],
        tftp_port: int = 69,
        http_port: int = 8080,
        on_event: EventHook | None = None,
        locate_unknown: LocateUnknown | None = None,
        http_routes: dict[str, ASGIApp] | None = None,
        tftp_workers: int | None = None,
    ) -> None:
        files = MachineFiles(view, locate_unknown)
        self.source = Overlay([RenderedSource(files.render), StaticRoot(boot_dir)])
        self.addresses = addresses
        self.tftp_port = tftp_port
        self.http_port = http_port
        self.on_event = _logging_hook(on_event)
        self.http_routes = http_routes or {}
        workers = cpu_workers() if tftp_workers is None else tftp_workers
        self.tftp_config = TftpConfig(
            workers=max(1, workers // len(addresses)) if workers and addresses else 0
        )
        self.tftp: list[TftpServer] = []
        self._http: BackgroundServer | None = None

    async def start(self) -> None:
        """Bind TFTP and HTTP on every address and start serving.

        :raises OSError: an address or port cannot be bound (what had started is
            stopped again first).
        """
        sockets: list[socket.socket] = []
        try:
            for address in self.addresses:
                server = TftpServer(self.source, self.tftp_config, on_event=self.on_event)
                await server.start(host=address, port=self.tftp_port)
                self.tftp.append(server)
            for address in self.addresses:
                sockets.append(_listening_socket(address, self.http_port))
            config = uvicorn.Config(
                _with_routes(create_boot_app(self.source, self.on_event), self.http_routes),
                log_level="warning", access_log=False, lifespan="off",
            )
            self._http = BackgroundServer(config)
            await self._http.start(sockets)
        except BaseException:
            # Half a start would keep ports bound with nobody to stop them.
            for sock in sockets:
                sock.close()
            with contextlib.suppress(Exception):  # the start-up error is the one to raise
                await self.stop()
            raise
        log.info("boot files on %s (TFTP %d with %d transfer workers each, HTTP %d)",
                 ", ".join(self.addresses), self.tftp_port, self.tftp_config.workers,
                 self.http_port)

    def tftp_counters(self) -> dict[str, dict[str, Any]]:
        """What each TFTP listener counted so far, by its address."""
        return {server.address[0]: asdict(server.counters) for server in self.tftp}

    async def stop(self) -> None:
        """Stop both servers (running transfers are cut)."""
        for server in self.tftp:
            await server.close()
        self.tftp.clear()
        if self._http is not None:
            await self._http.stop()
            self._http = None
