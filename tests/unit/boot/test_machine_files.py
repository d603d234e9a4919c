"""Per-machine file paths: which MAC they name, and what the view says it boots."""

from __future__ import annotations

import dataclasses

import pytest

from metalnet.boot import render
from metalnet.boot.machine_files import MachineFiles
from metalnet.boot.sources import Overlay, RenderedSource, StaticRoot
from metalnet.core.boot import BootProfile
from metalnet.core.records import Change, to_record
from metalnet.core.view import BootView
from tests.factories import make_network, make_port

MAC = "52:54:00:ab:cd:ef"
KERNEL = BootProfile(id="prof-k", name="deploy", project_id="ops", kernel="vmlinuz",
                     initrds=("initrd.img",), cmdline="console=ttyS0")


@pytest.fixture
def view() -> BootView:
    network = make_network()
    port = make_port(network.id, mac_address=MAC, boot_profile_id=KERNEL.id)
    other = make_port(network.id, mac_address="52:54:00:00:00:02")  # no profile
    view = BootView()
    view.load(1, [network, port, other, KERNEL])
    return view


def text(files: MachineFiles, path: str) -> str | None:
    content = files.render(path)
    return None if content is None else content.decode()


def test_boot_ipxe_is_the_chain_script(view: BootView) -> None:
    assert text(MachineFiles(view), "boot.ipxe") == render.chain_script()


@pytest.mark.parametrize("spelling", [MAC, MAC.upper(), MAC.replace(":", "-"),
                                      MAC.replace(":", "-").upper()])
def test_ipxe_script_for_every_mac_spelling(view: BootView, spelling: str) -> None:
    assert text(MachineFiles(view), f"boot/{spelling}.ipxe") == render.render_ipxe(KERNEL)


def test_pxelinux_and_grub_paths(view: BootView) -> None:
    files = MachineFiles(view)
    dashed = MAC.replace(":", "-")
    assert text(files, f"pxelinux.cfg/01-{dashed}") == render.render_pxelinux(KERNEL)
    assert text(files, f"pxelinux.cfg/01-{dashed.upper()}") == render.render_pxelinux(KERNEL)
    assert text(files, f"grub.cfg-01-{dashed}") == render.render_grub(KERNEL)
    assert text(files, f"grub/grub.cfg-01-{dashed}") == render.render_grub(KERNEL)


def test_machine_without_profile_or_unknown_gets_the_local_disk(view: BootView) -> None:
    files = MachineFiles(view)
    assert text(files, "boot/52:54:00:00:00:02.ipxe") == render.render_ipxe(
        None, "no boot profile assigned")
    assert text(files, "boot/52:54:00:99:99:99.ipxe") == render.render_ipxe(
        None, "unknown machine")
    assert text(files, "pxelinux.cfg/01-52-54-00-99-99-99") == render.render_pxelinux(None)


def test_profile_missing_from_the_view_is_said(view: BootView) -> None:
    view.profiles.clear()
    script = text(MachineFiles(view), f"boot/{MAC}.ipxe")
    assert script is not None and "prof-k does not exist" in script and "sanboot" in script


@pytest.mark.parametrize("path", [
    "boot.ipxe.bak", "boot/52:54:00:ab:cd.ipxe", "boot/52:54:00:ab:cd:ef:00.ipxe",
    "boot/zz:54:00:ab:cd:ef.ipxe", "pxelinux.cfg/default", "pxelinux.cfg/C612",
    "pxelinux.cfg/01-52:54:00:ab:cd:ef-x", "x/boot/52:54:00:ab:cd:ef.ipxe", "grub.cfg",
    "boot/52.54.00.ab.cd.ef.ipxe", "undionly.kpxe", "boot/52:54:00-ab-cd-ef.ipxe",
    "pxelinux.cfg/01-52-54-00-ab-cd--f", "grub.cfg-01-52:54:00:ab:cd:e:f",
])
def test_other_paths_are_not_rendered(view: BootView, path: str) -> None:
    assert MachineFiles(view).render(path) is None


def test_a_profile_change_shows_at_once(view: BootView) -> None:
    files = MachineFiles(view)
    changed = dataclasses.replace(KERNEL, cmdline="console=tty0 quiet", revision_number=1)
    view.apply([Change(2, "boot_profile", changed.id, to_record(changed))])
    assert "console=tty0 quiet" in (text(files, f"boot/{MAC}.ipxe") or "")


def test_rendered_files_take_precedence_over_the_boot_directory(view, tmp_path) -> None:
    (tmp_path / "boot").mkdir()
    (tmp_path / "boot" / f"{MAC}.ipxe").write_text("#!ipxe\necho stale\n")
    (tmp_path / "boot.ipxe").write_text("#!ipxe\necho stale\n")
    (tmp_path / "undionly.kpxe").write_bytes(b"loader")
    source = Overlay([RenderedSource(MachineFiles(view).render), StaticRoot(tmp_path)])
    with source.open(f"/boot/{MAC}.ipxe") as opened:
        assert opened.stream.read() == render.render_ipxe(KERNEL).encode()
    with source.open("boot.ipxe") as opened:
        assert opened.stream.read() == render.chain_script().encode()
    with source.open("undionly.kpxe") as opened:
        assert opened.stream.read() == b"loader"
