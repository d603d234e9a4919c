"""Bootloaders: found at Debian's standard paths (packages ipxe, pxelinux,
syslinux-common) or in a configured directory, and copied into the boot directory
(copied, not linked: the file sources refuse symlinks that leave the root)."""

from __future__ import annotations

import filecmp
import os
import shutil
from dataclasses import dataclass
from pathlib import Path

DEBIAN_PATHS: dict[str, tuple[str, ...]] = {
    "undionly.kpxe": ("/usr/lib/ipxe/undionly.kpxe",),
    "ipxe.efi": ("/usr/lib/ipxe/ipxe.efi",),
    "snponly.efi": ("/usr/lib/ipxe/snponly.efi",),
    "pxelinux.0": ("/usr/lib/PXELINUX/pxelinux.0",),
    "lpxelinux.0": ("/usr/lib/PXELINUX/lpxelinux.0",),
    "ldlinux.c32": ("/usr/lib/syslinux/modules/bios/ldlinux.c32",),
}
"""Bootloader name -> where Debian installs it."""

REQUIRED = ("undionly.kpxe", "ipxe.efi")
"""What the default boot options point at."""


@dataclass(frozen=True, slots=True)
class Asset:
    """One bootloader: where it comes from and whether the boot directory has it."""

    name: str
    source: Path | None
    installed: bool


def find_source(name: str, extra_dir: Path | None) -> Path | None:
    """The bootloader's file: in ``extra_dir`` first, else at Debian's path."""
    candidates = [extra_dir / name] if extra_dir else []
    candidates += [Path(p) for p in DEBIAN_PATHS[name]]
    return next((c for c in candidates if c.is_file()), None)


def is_served(boot_dir: Path, name: str) -> bool:
    """Whether TFTP and HTTP can serve ``name`` from ``boot_dir``: a regular file,
    or a symlink that stays inside the directory (the file sources refuse one that
    leads out, such as a link to ``/usr/lib/ipxe``)."""
    target = boot_dir / name
    if not target.is_file():
        return False
    return target.resolve().is_relative_to(boot_dir.resolve())


def survey(boot_dir: Path, extra_dir: Path | None = None) -> list[Asset]:
    """Every known bootloader, its source and whether ``boot_dir`` serves it."""
    return [
        Asset(name, find_source(name, extra_dir), is_served(boot_dir, name))
        for name in DEBIAN_PATHS
    ]


def install(boot_dir: Path, extra_dir: Path | None = None) -> list[Asset]:
    """Copy each found bootloader into ``boot_dir`` when missing, different, or a
    symlink leading out. The copy replaces the old name in one step (a transfer
    under way keeps reading the old file; a link is replaced, not written through).

    :raises OSError: ``boot_dir`` cannot be created or written.
    """
    boot_dir.mkdir(parents=True, exist_ok=True)
    for asset in survey(boot_dir, extra_dir):
        target = boot_dir / asset.name
        if asset.source is None or (
            asset.installed and filecmp.cmp(asset.source, target, shallow=False)
        ):
            continue
        partial = target.with_name(f".{asset.name}.metalnet-partial")
        try:
            shutil.copyfile(asset.source, partial)
            os.replace(partial, target)
        finally:
            partial.unlink(missing_ok=True)
    return survey(boot_dir, extra_dir)
