"""Bootloaders: found at Debian's standard paths (packages ipxe, pxelinux,
syslinux-common) or in a configured directory, and copied into the boot directory
(copied, not linked: the file sources refuse symlinks that leave the root)."""

from __future__ import annotations

import filecmp
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


def survey(boot_dir: Path, extra_dir: Path | None = None) -> list[Asset]:
    """Every known bootloader, its source and whether it is in ``boot_dir``."""
    return [
        Asset(name, find_source(name, extra_dir), (boot_dir / name).is_file())
        for name in DEBIAN_PATHS
    ]


def install(boot_dir: Path, extra_dir: Path | None = None) -> list[Asset]:
    """Copy each found bootloader into ``boot_dir`` when missing or different."""
    boot_dir.mkdir(parents=True, exist_ok=True)
    for asset in survey(boot_dir, extra_dir):
        target = boot_dir / asset.name
        if asset.source is not None and not (
            target.is_file() and filecmp.cmp(asset.source, target, shallow=False)
        ):
            shutil.copyfile(asset.source, target)
    return survey(boot_dir, extra_dir)
