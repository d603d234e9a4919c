"""The HTTP boot app under uvicorn on 127.0.0.1, fetched with curl."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import uvicorn

from metalnet.boot.http import create_boot_app
from metalnet.boot.sources import StaticRoot
from metalnet.http_server import BackgroundServer
from tests.integration.boot_fixtures import (
    BootTree,
    free_tcp_socket,
    require,
    run,
    sha256,
)

pytestmark = pytest.mark.integration


@pytest.fixture
async def base_url(tree: BootTree) -> AsyncIterator[str]:
    sock = free_tcp_socket()
    config = uvicorn.Config(
        create_boot_app(StaticRoot(tree.root)), log_level="warning", lifespan="off"
    )
    server = BackgroundServer(config)
    async with asyncio.timeout(10):
        await server.start([sock])
    try:
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    finally:
        await server.stop()
        sock.close()


async def curl(*args: str) -> tuple[int, str]:
    return await run(require("curl"), "-sS", *args)


async def test_get_byte_exact(tree: BootTree, base_url: str, tmp_path: Path) -> None:
    out = tmp_path / "out"
    status, output = await curl("-f", "-o", str(out), f"{base_url}/big.bin")
    assert status == 0, output
    assert sha256(out.read_bytes()) == sha256(tree.files["big.bin"])


async def test_head(tree: BootTree, base_url: str) -> None:
    status, output = await curl("-I", f"{base_url}/sub/nested.bin")
    assert status == 0, output
    headers = output.lower()
    assert "http/1.1 200" in headers
    assert f"content-length: {len(tree.files['sub/nested.bin'])}" in headers
    assert "accept-ranges: bytes" in headers


@pytest.mark.parametrize("spec", ["0-99", "1000-", "-500", "3145000-3145727"])
async def test_range(tree: BootTree, base_url: str, tmp_path: Path, spec: str) -> None:
    out = tmp_path / "out"
    status, output = await curl(
        "-f", "-r", spec, "-o", str(out), "-w", "%{http_code}", f"{base_url}/big.bin"
    )
    assert status == 0, output
    assert output == "206"
    content = tree.files["big.bin"]
    first, _, last = spec.partition("-")
    if not first:
        expected = content[-int(last) :]
    else:
        expected = content[int(first) : int(last) + 1 if last else None]
    assert out.read_bytes() == expected


async def test_unsatisfiable_range(base_url: str) -> None:
    _, output = await curl(
        "-r", "99999999-", "-o", "/dev/null", "-w", "%{http_code}", f"{base_url}/big.bin"
    )
    assert output == "416"


@pytest.mark.parametrize(
    ("path", "code"),
    [
        ("/missing", "404"),
        ("/../secret", "403"),
        ("/sub/../../secret", "403"),
        ("/%2e%2e/secret", "403"),
        ("/escape", "403"),
        ("/small.txt%00.png", "403"),
        ("/sub", "403"),
    ],
)
async def test_refused(base_url: str, path: str, code: str) -> None:
    _, output = await curl(
        "--path-as-is", "-o", "/dev/null", "-w", "%{http_code}", f"{base_url}{path}"
    )
    assert output == code
