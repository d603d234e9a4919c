"""Helpers for the TFTP and HTTP boot integration tests (loopback only).

``make_boot_tree`` a boot directory with test files, a symlink leading out and a secret outside
``tftp_server``    a :class:`TftpServer` on 127.0.0.1 with short timers (an async context manager);
                   transfers run in its own loop unless ``workers`` asks for worker processes
``WORKER_MODES``   parametrizes a test over both (``workers``: 0, then 2)
``TftpClient``     a small RFC 1350/2347/7440 client over a Python UDP socket, with optional loss
``run``            runs an external client without blocking the event loop the servers run in
"""

from __future__ import annotations

import asyncio
import hashlib
import random
import shutil
import socket
import struct
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path

import pytest

from metalnet.boot.sources import FileSource, StaticRoot
from metalnet.boot.tftp_config import TftpConfig
from metalnet.boot.tftp_server import TftpServer
from metalnet.wire.tftp.packet import ACK, DATA, ERROR, OACK, RRQ, Mode, Packet, from_wire

FAST = TftpConfig(
    retransmit_timeout=0.05,
    max_retransmit_timeout=0.2,
    max_retries=20,
    max_sessions_per_client=64,
)

# In the listener's loop by default: quickest to start, and what most protocol tests are about.
# The tests whose outcome travels back from a worker run both ways.
WORKER_MODES = pytest.mark.parametrize("workers", [0, 2], ids=["in-loop", "workers"])


@dataclass
class BootTree:
    root: Path
    files: dict[str, bytes]


def make_boot_tree(base: Path) -> BootTree:
    """Files of interesting sizes under ``base/root``; ``base/secret`` lies outside."""
    rng = random.Random(1)
    root = base / "root"
    (root / "sub").mkdir(parents=True)
    files = {
        "big.bin": rng.randbytes(3 * 1024 * 1024 + 123),
        "blocks.bin": rng.randbytes(512 * 40),  # a multiple of 512: ends with an empty block
        "empty.bin": b"",
        "small.txt": b"hello\nworld\n",
        "sub/nested.bin": rng.randbytes(70_000),
        "one-mib.bin": rng.randbytes(1024 * 1024),
    }
    for name, content in files.items():
        (root / name).write_bytes(content)
    secret = base / "secret"
    secret.write_bytes(b"top secret\n")
    (root / "escape").symlink_to(secret)
    return BootTree(root, files)


@asynccontextmanager
async def tftp_server(
    source: FileSource | Path,
    config: TftpConfig = FAST,
    on_event: Callable[..., None] | None = None,
    *,
    workers: int | None = None,
) -> AsyncIterator[TftpServer]:
    """A started server on 127.0.0.1 (free port); closed on exit.

    :param workers: replaces ``config.workers`` when given.
    """
    if isinstance(source, Path):
        source = StaticRoot(source)
    if workers is not None:
        config = replace(config, workers=workers)
    server = TftpServer(source, config, on_event=on_event)
    await server.start("127.0.0.1", 0)
    try:
        yield server
    finally:
        await server.close()


@dataclass
class EventLog:
    """An ``on_event`` hook that keeps what it was told."""

    events: list[tuple[str, str, dict[str, object]]] = field(default_factory=list)

    def __call__(self, name: str, client: tuple[str, int], path: str, **details: object) -> None:
        self.events.append((name, path, details))

    def names(self) -> list[str]:
        return [name for name, _, _ in self.events]


def require(binary: str) -> str:
    """The path of ``binary``, or skip the test."""
    path = shutil.which(binary)
    if path is None:
        pytest.skip(f"{binary} is not installed (scripts/install-system-deps.sh)")
    return path


async def run(*argv: str, timeout: float = 30.0) -> tuple[int, str]:
    """Run a program; return its exit status and its merged output."""
    process = await asyncio.create_subprocess_exec(
        *argv, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT
    )
    try:
        output, _ = await asyncio.wait_for(process.communicate(), timeout)
    except TimeoutError:
        process.kill()
        await process.wait()
        raise
    assert process.returncode is not None
    return process.returncode, output.decode(errors="replace")


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


class TftpClient:
    """A TFTP client for protocol tests; ``loss`` drops that share of datagrams both ways.

    :param server: the listener's address.
    """

    def __init__(self, server: tuple[str, int], *, loss: float = 0.0, seed: int = 0) -> None:
        self.server = server
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.setblocking(False)
        self.sock.bind(("127.0.0.1", 0))
        self.peer: tuple[str, int] | None = None
        self._loss = loss
        self._rng = random.Random(seed)

    def close(self) -> None:
        self.sock.close()

    def send(self, data: bytes) -> None:
        if self._loss and self._rng.random() < self._loss:
            return
        self.sock.sendto(data, self.peer or self.server)

    async def receive(self, timeout: float = 2.0) -> Packet:
        """The next datagram, decoded; remembers the server's TID from the first one."""
        loop = asyncio.get_running_loop()
        while True:
            data, addr = await asyncio.wait_for(loop.sock_recvfrom(self.sock, 70000), timeout)
            if self._loss and self._rng.random() < self._loss:
                continue
            if self.peer is None:
                self.peer = addr
            return from_wire(data)

    async def request(self, data: bytes) -> Packet:
        self.sock.sendto(data, self.server)
        return await self.receive()

    async def fetch(
        self, filename: str, options: tuple[tuple[str, str], ...] = (), *, timeout: float = 0.3
    ) -> bytes:
        """Download ``filename`` (acknowledging whole windows), resending on silence."""
        request = RRQ(filename, Mode.OCTET, options).to_wire()
        blksize, windowsize = 512, 1
        received = bytearray()
        expected = 1
        in_window = 0
        last_ack: bytes | None = None
        self.send(request)
        for _ in range(200_000):
            try:
                packet = await self.receive(timeout)
            except TimeoutError:
                # Our request or ACK may have been lost: send it again.
                self.send(last_ack if last_ack is not None else request)
                continue
            if isinstance(packet, ERROR):
                raise RuntimeError(f"server error {packet.code}: {packet.message}")
            if isinstance(packet, OACK):
                accepted = dict(packet.options)
                blksize = int(accepted.get("blksize", 512))
                windowsize = int(accepted.get("windowsize", 1))
                last_ack = ACK(0).to_wire()
                self.send(last_ack)
                continue
            assert isinstance(packet, DATA)
            if packet.block != expected & 0xFFFF:
                # A gap or a resent block: say again where we are (RFC 7440 §4).
                in_window = 0
                last_ack = ACK((expected - 1) & 0xFFFF).to_wire()
                self.send(last_ack)
                continue
            received += packet.data
            expected += 1
            in_window += 1
            if len(packet.data) < blksize:
                # Dally: answer resent final blocks a little while (RFC 1350 §6).
                last_ack = ACK(packet.block).to_wire()
                for _ in range(3):
                    self.send(last_ack)
                return bytes(received)
            if in_window == windowsize:
                in_window = 0
                last_ack = ACK(packet.block).to_wire()
                self.send(last_ack)
        raise AssertionError("no end of transfer")


def raw_request(*strings: bytes) -> bytes:
    """An RRQ built by hand from NUL-terminated ``strings`` (to send what the codec refuses)."""
    return struct.pack("!H", 1) + b"".join(s + b"\0" for s in strings)


def free_tcp_socket() -> socket.socket:
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    return sock
