"""The boot role of a host: TFTP and HTTP boot on each provisioning address.

Both serve the same source: per-machine files rendered from the view
(:mod:`metalnet.boot.machine_files`) over the boot directory, read-only.
"""

from __future__ import annotations

import logging
import socket
from pathlib import Path

import uvicorn

from metalnet.boot.events import EventHook
from metalnet.boot.http import create_boot_app
from metalnet.boot.machine_files import MachineFiles
from metalnet.boot.sources import Overlay, RenderedSource, StaticRoot
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


class BootService:
    """TFTP on ``tftp_port`` and HTTP on ``http_port`` of every address in ``addresses``."""

    def __init__(
        self,
        view: BootView,
        boot_dir: Path,
        addresses: list[str],
        tftp_port: int = 69,
        http_port: int = 8080,
        on_event: EventHook | None = None,
    ) -> None:
        self.source = Overlay([RenderedSource(MachineFiles(view).render), StaticRoot(boot_dir)])
        self.addresses = addresses
        self.tftp_port = tftp_port
        self.http_port = http_port
        self.on_event = on_event
        self.tftp: list[TftpServer] = []
        self._http: BackgroundServer | None = None

    async def start(self) -> None:
        """Bind TFTP and HTTP on every address and start serving.

        :raises OSError: an address or port cannot be bound.
        """
        for address in self.addresses:
            server = TftpServer(self.source, on_event=self.on_event)
            await server.start(host=address, port=self.tftp_port)
            self.tftp.append(server)
        sockets = [_listening_socket(a, self.http_port) for a in self.addresses]
        config = uvicorn.Config(
            create_boot_app(self.source, self.on_event), log_level="warning", access_log=False,
            lifespan="off",
        )
        self._http = BackgroundServer(config)
        await self._http.start(sockets)
        log.info("boot files on %s (TFTP %d, HTTP %d)", ", ".join(self.addresses),
                 self.tftp_port, self.http_port)

    async def stop(self) -> None:
        """Stop both servers (running transfers are cut)."""
        for server in self.tftp:
            await server.close()
        self.tftp.clear()
        if self._http is not None:
            await self._http.stop()
            self._http = None
