"""The HTTP boot app over httpx's ASGI transport."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from metalnet.boot import events
from metalnet.boot.http import create_boot_app
from metalnet.boot.sources import Overlay, RenderedSource, StaticRoot

CONTENT = bytes(range(256)) * 1000


class Recorder:
    def __init__(self) -> None:
        self.events: list[tuple[str, str, dict[str, object]]] = []

    def __call__(self, name: str, client: tuple[str, int], path: str, **details: object) -> None:
        self.events.append((name, path, details))


@pytest.fixture
def recorder() -> Recorder:
    return Recorder()


@pytest.fixture
async def client(tmp_path: Path, recorder: Recorder) -> AsyncIterator[httpx.AsyncClient]:
    root = tmp_path / "root"
    root.mkdir()
    (root / "kernel").write_bytes(CONTENT)
    (root / "empty").write_bytes(b"")
    (tmp_path / "secret").write_bytes(b"secret")
    (root / "escape").symlink_to(tmp_path / "secret")
    rendered = RenderedSource(lambda p: b"#!ipxe\nboot\n" if p == "boot/aa.ipxe" else None)
    app = create_boot_app(Overlay([rendered, StaticRoot(root)]), recorder, chunk_size=10_000)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://boot") as c:
        yield c


async def test_get_whole_file(client: httpx.AsyncClient, recorder: Recorder) -> None:
    response = await client.get("/kernel")
    assert response.status_code == 200
    assert response.content == CONTENT
    assert response.headers["content-length"] == str(len(CONTENT))
    assert response.headers["accept-ranges"] == "bytes"
    names = [name for name, _, _ in recorder.events]
    assert names == [events.HTTP_TRANSFER_STARTED, events.HTTP_TRANSFER_COMPLETED]
    assert recorder.events[1][2]["bytes"] == len(CONTENT)


async def test_rendered_file(client: httpx.AsyncClient) -> None:
    response = await client.get("/boot/aa.ipxe")
    assert response.content == b"#!ipxe\nboot\n"


async def test_head(client: httpx.AsyncClient) -> None:
    response = await client.head("/kernel")
    assert response.status_code == 200
    assert response.headers["content-length"] == str(len(CONTENT))
    assert response.content == b""


@pytest.mark.parametrize(
    ("header", "start", "stop"),
    [("bytes=0-99", 0, 100), ("bytes=255000-", 255000, 256000), ("bytes=-5", 255995, 256000)],
)
async def test_range(client: httpx.AsyncClient, header: str, start: int, stop: int) -> None:
    response = await client.get("/kernel", headers={"Range": header})
    assert response.status_code == 206
    assert response.content == CONTENT[start:stop]
    assert response.headers["content-range"] == f"bytes {start}-{stop - 1}/{len(CONTENT)}"


async def test_multiple_ranges_get_the_whole_file(client: httpx.AsyncClient) -> None:
    response = await client.get("/kernel", headers={"Range": "bytes=0-1,5-6"})
    assert response.status_code == 200
    assert response.content == CONTENT


async def test_unsatisfiable_range(client: httpx.AsyncClient) -> None:
    response = await client.get("/kernel", headers={"Range": "bytes=999999-"})
    assert response.status_code == 416
    assert response.headers["content-range"] == f"bytes */{len(CONTENT)}"


async def test_empty_file(client: httpx.AsyncClient) -> None:
    response = await client.get("/empty")
    assert response.status_code == 200
    assert response.content == b""


@pytest.mark.parametrize(
    ("path", "status"),
    [("/missing", 404), ("/escape", 403), ("/%2e%2e/secret", 403), ("/kernel%00x", 403)],
)
async def test_refused(
    client: httpx.AsyncClient, recorder: Recorder, path: str, status: int
) -> None:
    response = await client.get(path)
    assert response.status_code == status
    assert recorder.events[-1][0] == events.HTTP_REQUEST_REFUSED


async def test_post_is_not_allowed(client: httpx.AsyncClient) -> None:
    response = await client.post("/kernel")
    assert response.status_code == 405
