"""File sources: path rules, traversal refusal, rendered files and overlays."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from metalnet.boot.errors import AccessDenied, FileNotFound
from metalnet.boot.sources import Overlay, RenderedSource, StaticRoot, normalize_path


@pytest.fixture
def root(tmp_path: Path) -> Path:
    boot = tmp_path / "boot"
    (boot / "efi64").mkdir(parents=True)
    (boot / "pxelinux.0").write_bytes(b"pxelinux")
    (boot / "efi64" / "grubx64.efi").write_bytes(b"grub")
    (tmp_path / "secret").write_bytes(b"secret")
    (boot / "inside-link").symlink_to("efi64/grubx64.efi")
    (boot / "dir-link").symlink_to("efi64")
    (boot / "outside-link").symlink_to(tmp_path / "secret")
    (boot / "outside-dir").symlink_to(tmp_path)
    os.mkfifo(boot / "fifo")
    return boot


def read(source: StaticRoot | RenderedSource | Overlay, path: str) -> bytes:
    with source.open(path) as opened:
        data = opened.stream.read()
        assert len(data) == opened.size
        return data


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("pxelinux.0", "pxelinux.0"),
        ("/pxelinux.0", "pxelinux.0"),
        ("//efi64//grubx64.efi", "efi64/grubx64.efi"),
        ("./efi64/./grubx64.efi", "efi64/grubx64.efi"),
        ("\\efi64\\grubx64.efi", "efi64/grubx64.efi"),
    ],
)
def test_normalize_path(path: str, expected: str) -> None:
    assert normalize_path(path) == expected


@pytest.mark.parametrize("path", ["", "/", ".", "../x", "a/../../x", "a\\..\\x", "a\0b", "..\\x"])
def test_normalize_path_refuses(path: str) -> None:
    with pytest.raises(AccessDenied):
        normalize_path(path)


@pytest.mark.parametrize(
    ("path", "content"),
    [
        ("pxelinux.0", b"pxelinux"),
        ("/pxelinux.0", b"pxelinux"),
        ("\\efi64\\grubx64.efi", b"grub"),
        ("inside-link", b"grub"),
        ("dir-link/grubx64.efi", b"grub"),
    ],
)
def test_static_root_serves(root: Path, path: str, content: bytes) -> None:
    assert read(StaticRoot(root), path) == content


@pytest.mark.parametrize(
    "path",
    [
        "../secret",
        "/../secret",
        "outside-link",
        "outside-dir/secret",
        "efi64",
        "dir-link",
        "fifo",
        "pxelinux.0\0.cfg",
        str(Path("/etc/passwd")),  # an absolute path is root-relative, so it is not found...
    ],
)
def test_static_root_refuses(root: Path, path: str) -> None:
    with pytest.raises((AccessDenied, FileNotFound)) as caught:
        StaticRoot(root).open(path)
    if path != "/etc/passwd":
        assert caught.type is AccessDenied
    else:
        assert caught.type is FileNotFound  # ...unless the root has an etc/passwd


@pytest.mark.parametrize("path", ["missing", "pxelinux.0/x", "nodir/x"])
def test_static_root_not_found(root: Path, path: str) -> None:
    with pytest.raises(FileNotFound):
        StaticRoot(root).open(path)


def test_rendered_source_gets_the_normalized_path() -> None:
    asked: list[str] = []

    def render(path: str) -> bytes | None:
        asked.append(path)
        return b"#!ipxe\n" if path.endswith(".ipxe") else None

    source = RenderedSource(render)
    assert read(source, "/boot\\aa-bb.ipxe") == b"#!ipxe\n"
    with pytest.raises(FileNotFound):
        source.open("other")
    with pytest.raises(AccessDenied):
        source.open("../x.ipxe")
    assert asked == ["boot/aa-bb.ipxe", "other"]


def test_overlay_prefers_rendered_files(root: Path) -> None:
    rendered = RenderedSource(lambda p: b"rendered" if p == "pxelinux.0" else None)
    source = Overlay([rendered, StaticRoot(root)])
    assert read(source, "pxelinux.0") == b"rendered"
    assert read(source, "efi64/grubx64.efi") == b"grub"
    with pytest.raises(FileNotFound):
        source.open("missing")
    with pytest.raises(AccessDenied):
        source.open("outside-link")
