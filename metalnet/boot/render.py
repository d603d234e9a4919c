"""Per-machine boot files rendered from a boot profile: iPXE script, pxelinux, grub.

Paths inside the boot directory are written relative so each protocol resolves
them against where the file itself came from: iPXE against the script's HTTP
URL, pxelinux and grub against the TFTP root. URLs are kept as they are.
A machine with no profile gets a file that says so and boots the local disk,
never a hang.
"""

from __future__ import annotations

from metalnet.core.boot import BootProfile

_IPXE_LOCAL_DISK = "sleep 3\nsanboot --no-describe --drive 0x80 || exit\n"
"""The end of every iPXE script that falls back to the local disk."""

NO_PROFILE_IPXE = (
    "#!ipxe\necho metalnet: no boot profile for ${{mac}} ({reason}); booting from local disk\n"
    + _IPXE_LOCAL_DISK
)


def _ipxe_path(path: str) -> str:
    return path if "://" in path else "/" + path


def _basename(path: str) -> str:
    return path.rstrip("/").rsplit("/", 1)[-1]


def render_ipxe(profile: BootProfile | None, reason: str = "none assigned") -> str:
    """The iPXE script a machine fetches from ``/boot/<mac>.ipxe``."""
    if profile is None:
        return NO_PROFILE_IPXE.format(reason=reason)
    if profile.script is not None:
        return profile.script if profile.script.endswith("\n") else profile.script + "\n"
    if profile.chain_url is not None:
        url = profile.chain_url
        return f"#!ipxe\necho metalnet: chaining to {url}\nchain {url}\n"
    assert profile.kernel is not None
    # UEFI iPXE finds an initrd only by the name given on the command line.
    initrd_args = "".join(f" initrd={_basename(i)}" for i in profile.initrds)
    lines = [
        "#!ipxe",
        f"echo metalnet: booting profile {profile.name}",
        f"kernel {_ipxe_path(profile.kernel)}{initrd_args} {profile.cmdline}".rstrip(),
        *(f"initrd {_ipxe_path(i)}" for i in profile.initrds),
        "boot || goto failed",
        ":failed",
        f"echo metalnet: profile {profile.name} failed to boot; booting from local disk",
    ]
    return "\n".join(lines) + "\n" + _IPXE_LOCAL_DISK


def _tftp_kernel(profile: BootProfile | None) -> BootProfile | None:
    """``profile`` when it is a kernel profile whose files are all in the boot
    directory (pxelinux and grub fetch over TFTP here; URLs are iPXE's), else None."""
    if profile is None or profile.kernel is None:
        return None
    if any("://" in f for f in (profile.kernel, *profile.initrds)):
        return None
    return profile


def render_pxelinux(profile: BootProfile | None) -> str:
    """``pxelinux.cfg/01-<mac>``: the kernel profile, else boot the local disk."""
    profile = _tftp_kernel(profile)
    if profile is None or profile.kernel is None:
        return "DEFAULT local\nLABEL local\n  LOCALBOOT 0\n"
    initrd = ",".join(profile.initrds)
    parts = (f"initrd={initrd}" if initrd else "", profile.cmdline)
    append = " ".join(part for part in parts if part)
    return (
        "DEFAULT metalnet\nPROMPT 0\nTIMEOUT 0\n"
        f"LABEL metalnet\n  KERNEL {profile.kernel}\n  APPEND {append}\n"
    )


def render_grub(profile: BootProfile | None) -> str:
    """A grub.cfg for UEFI grub: the kernel profile, else leave to the next boot device."""
    profile = _tftp_kernel(profile)
    if profile is None or profile.kernel is None:
        return 'echo "metalnet: no kernel profile; leaving grub"\nexit\n'
    initrds = " ".join("/" + i for i in profile.initrds)
    lines = [
        "set timeout=0",
        f'menuentry "metalnet {profile.name}" {{',
        f"  linux /{profile.kernel} {profile.cmdline}".rstrip(),
        *([f"  initrd {initrds}"] if initrds else []),
        "}",
    ]
    return "\n".join(lines) + "\n"


def chain_script() -> str:
    """``/boot.ipxe``: every iPXE client chains to its own per-MAC script."""
    # ${mac:hexhyp} (aa-bb-..), not ${mac}: iPXE 1.0.0 (Debian's ipxe-qemu ROM) parses
    # "/boot/52:54:..." as a URI with scheme "/boot/52" and fails with "Operation not
    # supported". The per-MAC route accepts either separator.
    return "#!ipxe\nchain /boot/${mac:hexhyp}.ipxe\n"
