"""Per-machine boot files rendered from a profile: iPXE, pxelinux and grub."""

from __future__ import annotations

import re

import pytest

from metalnet.boot import render
from metalnet.core.boot import BootProfile


def profile(**fields: object) -> BootProfile:
    return BootProfile(id="p-1", name=str(fields.pop("name", "deploy")), project_id="ops",
                       **fields)  # type: ignore[arg-type]


KERNEL = profile(kernel="images/vmlinuz", initrds=("images/initrd.img", "images/fw.cpio"),
                 cmdline="console=ttyS0 ip=dhcp")

NOT_OVER_TFTP = [
    None,
    profile(script="#!ipxe\n"),
    profile(chain_url="http://198.18.0.9/x"),
    profile(kernel="http://198.18.0.9/vmlinuz"),
    profile(kernel="vmlinuz", initrds=("http://198.18.0.9/initrd",)),
]
"""Profiles pxelinux and grub cannot boot: none, not a kernel, or files behind a URL."""


# -- iPXE ------------------------------------------------------------------------------


def test_ipxe_kernel_profile_is_resolved_against_the_http_root() -> None:
    script = render.render_ipxe(KERNEL)
    lines = script.splitlines()
    assert lines[0] == "#!ipxe"
    assert (
        "kernel /images/vmlinuz initrd=initrd.img initrd=fw.cpio console=ttyS0 ip=dhcp" in lines
    )
    # initrds in order, after the kernel, before boot
    assert [line for line in lines if line.startswith("initrd ")] == [
        "initrd /images/initrd.img", "initrd /images/fw.cpio"]
    assert lines.index("kernel /images/vmlinuz initrd=initrd.img initrd=fw.cpio "
                       "console=ttyS0 ip=dhcp") < lines.index("initrd /images/initrd.img")
    assert lines.index("initrd /images/fw.cpio") < lines.index("boot || goto failed")
    assert script.endswith("\n")


def test_ipxe_kernel_failure_falls_back_to_local_disk_not_a_hang() -> None:
    lines = render.render_ipxe(KERNEL).splitlines()
    after = lines[lines.index(":failed"):]
    assert any(line.startswith("sanboot") for line in after)
    assert "shell" not in "\n".join(lines)


def test_ipxe_urls_are_kept_as_they_are() -> None:
    script = render.render_ipxe(profile(
        kernel="http://198.18.0.5/k", initrds=("https://198.18.0.5/i.img",), cmdline=""))
    assert "kernel http://198.18.0.5/k initrd=i.img\n" in script
    assert "initrd https://198.18.0.5/i.img\n" in script


def test_ipxe_kernel_without_initrd_or_cmdline_has_no_trailing_space() -> None:
    script = render.render_ipxe(profile(kernel="vmlinuz"))
    assert "kernel /vmlinuz\n" in script
    assert "initrd" not in script


def test_ipxe_script_profile_is_served_verbatim_with_final_newline() -> None:
    assert render.render_ipxe(profile(script="#!ipxe\necho hi")) == "#!ipxe\necho hi\n"
    assert render.render_ipxe(profile(script="#!ipxe\necho hi\n")) == "#!ipxe\necho hi\n"


def test_ipxe_chain_profile() -> None:
    script = render.render_ipxe(profile(chain_url="http://198.18.0.9/menu.ipxe"))
    assert script.startswith("#!ipxe\n")
    assert "chain http://198.18.0.9/menu.ipxe\n" in script


@pytest.mark.parametrize("reason", ["unknown machine", "no boot profile assigned"])
def test_ipxe_without_profile_says_why_and_sanboots(reason: str) -> None:
    script = render.render_ipxe(None, reason)
    assert script.startswith("#!ipxe\n")
    assert reason in script and "${mac}" in script
    assert re.search(r"^sanboot .*\|\| exit$", script, re.MULTILINE)


def test_chain_script_points_every_client_at_its_own_script() -> None:
    assert render.chain_script() == "#!ipxe\nchain /boot/${mac:hexhyp}.ipxe\n"


# -- pxelinux --------------------------------------------------------------------------


def test_pxelinux_kernel_profile() -> None:
    text = render.render_pxelinux(KERNEL)
    assert "DEFAULT metalnet" in text
    assert "  KERNEL images/vmlinuz\n" in text
    assert "  APPEND initrd=images/initrd.img,images/fw.cpio console=ttyS0 ip=dhcp\n" in text


def test_pxelinux_kernel_without_initrd() -> None:
    text = render.render_pxelinux(profile(kernel="vmlinuz", cmdline="quiet"))
    assert "  APPEND quiet\n" in text and "initrd" not in text


@pytest.mark.parametrize("given", NOT_OVER_TFTP)
def test_pxelinux_boots_local_disk_when_the_profile_cannot_be_expressed(
    given: BootProfile | None,
) -> None:
    assert render.render_pxelinux(given) == "DEFAULT local\nLABEL local\n  LOCALBOOT 0\n"


# -- grub ------------------------------------------------------------------------------


def test_grub_kernel_profile() -> None:
    text = render.render_grub(KERNEL)
    assert "set timeout=0\n" in text
    assert '  linux /images/vmlinuz console=ttyS0 ip=dhcp\n' in text
    assert "  initrd /images/initrd.img /images/fw.cpio\n" in text
    assert text.count("{") == text.count("}") == 1


def test_grub_kernel_without_initrd_has_no_initrd_line() -> None:
    assert "initrd" not in render.render_grub(profile(kernel="vmlinuz"))


@pytest.mark.parametrize("given", NOT_OVER_TFTP)
def test_grub_exits_when_the_profile_cannot_be_expressed(given: BootProfile | None) -> None:
    text = render.render_grub(given)
    assert text.endswith("exit\n") and "linux" not in text
