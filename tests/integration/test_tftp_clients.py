"""Real TFTP clients (tftp-hpa, atftp, curl) against the server on 127.0.0.1.

Each test is skipped when its client is not installed. The downloads run with transfers
in the listener's loop and in workers.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path

import pytest

from metalnet.boot.tftp_config import TftpConfig
from tests.integration.boot_fixtures import (
    FAST,
    WORKER_MODES,
    BootTree,
    require,
    run,
    sha256,
    tftp_server,
)
from tests.support.waits import until

pytestmark = pytest.mark.integration

FILES = ["big.bin", "blocks.bin", "empty.bin", "small.txt", "sub/nested.bin"]


def tftp_hpa(port: int, remote: str, local: Path) -> list[str]:
    return [
        require("tftp"),
        "127.0.0.1",
        str(port),
        "-m",
        "binary",
        "-c",
        "get",
        remote,
        str(local),
    ]


def atftp(port: int, remote: str, local: Path, *options: str) -> list[str]:
    argv = [require("atftp"), "--get", "-r", remote, "-l", str(local)]
    for option in options:
        argv += ["--option", option]
    return [*argv, "127.0.0.1", str(port)]


def curl(port: int, remote: str, local: Path, *extra: str) -> list[str]:
    return [require("curl"), "-sS", "-o", str(local), *extra, f"tftp://127.0.0.1:{port}/{remote}"]


CLIENTS: dict[str, Callable[[int, str, Path], list[str]]] = {
    "tftp-hpa": tftp_hpa,
    "atftp": atftp,
    "atftp-blksize-tsize": lambda port, remote, local: atftp(
        port, remote, local, "blksize 1468", "tsize 0"
    ),
    "atftp-windowsize": lambda port, remote, local: atftp(
        port, remote, local, "blksize 1468", "windowsize 16", "tsize 0"
    ),
    "curl": curl,
    "curl-blksize": lambda port, remote, local: curl(port, remote, local, "--tftp-blksize", "1468"),
}


@WORKER_MODES
@pytest.mark.parametrize("client", sorted(CLIENTS))
async def test_clients_fetch_byte_exact(
    tree: BootTree, tmp_path: Path, client: str, workers: int
) -> None:
    async with tftp_server(tree.root, workers=workers) as server:
        port = server.address[1]
        # curl 7.88 rejects an OACK with tsize 0 ("invalid tsize"), from tftpd-hpa too.
        names = [n for n in FILES if not (client.startswith("curl") and n == "empty.bin")]
        for name in names:
            local = tmp_path / f"out-{name.replace('/', '_')}"
            status, output = await run(*CLIENTS[client](port, name, local))
            assert status == 0, output
            assert sha256(local.read_bytes()) == sha256(tree.files[name]), name
        await until(lambda: server.session_count == 0)  # the last ACK may still be on its way
        counters = server.counters
        assert counters.transfers_completed == len(names)
        assert counters.transfers_failed == 0


async def test_leading_slash_is_root_relative(tree: BootTree, tmp_path: Path) -> None:
    async with tftp_server(tree.root) as server:
        local = tmp_path / "out"
        status, output = await run(*tftp_hpa(server.address[1], "/sub/nested.bin", local))
        assert status == 0, output
        assert local.read_bytes() == tree.files["sub/nested.bin"]


@pytest.mark.parametrize("remote", ["../secret", "escape", "sub/../../secret"])
async def test_traversal_refused(tree: BootTree, tmp_path: Path, remote: str) -> None:
    async with tftp_server(tree.root) as server:
        local = tmp_path / "out"
        _, output = await run(*tftp_hpa(server.address[1], remote, local))
        assert "Error code 2" in output, output
        assert not local.exists() or local.read_bytes() == b""
        assert server.counters.drops["access-denied"] == 1


async def test_missing_file(tree: BootTree, tmp_path: Path) -> None:
    async with tftp_server(tree.root) as server:
        status, _ = await run(*curl(server.address[1], "missing", tmp_path / "out"))
        assert status != 0
        assert server.counters.drops == {"not-found": 1}


async def test_write_refused(tree: BootTree, tmp_path: Path) -> None:
    upload = tmp_path / "upload"
    upload.write_bytes(b"data")
    async with tftp_server(tree.root) as server:
        argv = [require("tftp"), "127.0.0.1", str(server.address[1]), "-m", "binary"]
        _, output = await run(*argv, "-c", "put", str(upload), "new-file")
        assert "Access violation" in output or "read-only" in output, output
        assert server.counters.drops == {"write-request": 1}
    assert not (tree.root / "new-file").exists()


async def test_atftp_out_of_range_blksize(tree: BootTree, tmp_path: Path) -> None:
    """A blksize above RFC 2348's maximum is lowered to what the server allows."""
    config = TftpConfig(retransmit_timeout=0.05, max_blksize=1468)
    async with tftp_server(tree.root, config) as server:
        local = tmp_path / "out"
        status, output = await run(*atftp(server.address[1], "big.bin", local, "blksize 65464"))
        assert status == 0, output
        assert local.read_bytes() == tree.files["big.bin"]


async def test_block_numbers_roll_over_with_atftp(tree: BootTree, tmp_path: Path) -> None:
    content = bytes(i % 241 for i in range(16 * 70_000))  # 70001 blocks: numbers wrap to 0
    (tree.root / "many-blocks.bin").write_bytes(content)
    async with tftp_server(tree.root) as server:
        local = tmp_path / "out"
        argv = atftp(server.address[1], "many-blocks.bin", local, "blksize 16", "windowsize 32")
        status, output = await run(*argv)
        assert status == 0, output
        assert local.read_bytes() == content


@WORKER_MODES
async def test_fifty_concurrent_transfers(tree: BootTree, tmp_path: Path, workers: int) -> None:
    async with tftp_server(tree.root, FAST, workers=workers) as server:
        port = server.address[1]
        outputs = [tmp_path / f"out-{i}" for i in range(50)]
        results = await asyncio.gather(
            *(
                run(*curl(port, "one-mib.bin", out, "--tftp-blksize", "1468"), timeout=60)
                for out in outputs
            )
        )
        assert all(status == 0 for status, _ in results), results
        expected = sha256(tree.files["one-mib.bin"])
        assert all(sha256(out.read_bytes()) == expected for out in outputs)
        await until(lambda: server.counters.transfers_completed == 50)
