"""What kind of boot firmware sent a packet: PXE/HTTP boot architecture and iPXE.

Every function here is total: a malformed option is treated as absent, so a
classifier never turns a bad packet into an exception on the hot path.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Final

from metalnet.wire.dhcp4.consts import ClientArch, OptionCode
from metalnet.wire.dhcp4.options import decode_client_arch, decode_user_class
from metalnet.wire.dhcp4.packet import Packet
from metalnet.wire.errors import BadOption


class Firmware(StrEnum):
    """The loader family a client needs, from its architecture (option 93 or 60)."""

    BIOS = "bios"
    EFI_IA32 = "efi-ia32"
    EFI_X64 = "efi-x64"
    EFI_ARM32 = "efi-arm32"
    EFI_ARM64 = "efi-arm64"
    EFI_RISCV64 = "efi-riscv64"
    EFI_IA32_HTTP = "efi-ia32-http"
    EFI_X64_HTTP = "efi-x64-http"
    EFI_ARM32_HTTP = "efi-arm32-http"
    EFI_ARM64_HTTP = "efi-arm64-http"
    EFI_RISCV64_HTTP = "efi-riscv64-http"
    UNKNOWN = "unknown"


_BY_ARCH: Final[dict[int, Firmware]] = {
    ClientArch.BIOS_X86: Firmware.BIOS,
    ClientArch.EFI_IA32: Firmware.EFI_IA32,
    # RFC 4578 calls 7 "EFI BC" and 9 "EFI x86-64", but x86-64 UEFI firmware
    # (OVMF, most vendors) sends 7; both mean an x64 EFI loader.
    ClientArch.EFI_BC: Firmware.EFI_X64,
    ClientArch.EFI_X86_64: Firmware.EFI_X64,
    ClientArch.EFI_ARM32: Firmware.EFI_ARM32,
    ClientArch.EFI_ARM64: Firmware.EFI_ARM64,
    ClientArch.EFI_RISCV64: Firmware.EFI_RISCV64,
    ClientArch.EFI_IA32_HTTP: Firmware.EFI_IA32_HTTP,
    ClientArch.EFI_X86_64_HTTP: Firmware.EFI_X64_HTTP,
    ClientArch.EFI_BC_HTTP: Firmware.EFI_X64_HTTP,
    ClientArch.EFI_ARM32_HTTP: Firmware.EFI_ARM32_HTTP,
    ClientArch.EFI_ARM64_HTTP: Firmware.EFI_ARM64_HTTP,
    ClientArch.EFI_RISCV64_HTTP: Firmware.EFI_RISCV64_HTTP,
}

# Option codes as plain ints: reading an IntEnum member costs ~100 ns on 3.11, and
# client_arch and is_ipxe run for every request the engine answers.
_CLIENT_ARCH: Final = int(OptionCode.CLIENT_ARCH)
_VENDOR_CLASS: Final = int(OptionCode.VENDOR_CLASS)
_USER_CLASS: Final = int(OptionCode.USER_CLASS)
_IPXE_ENCAP: Final = int(OptionCode.IPXE_ENCAP)
_PXE_PREFIX: Final = b"PXEClient"
_HTTP_PREFIX: Final = b"HTTPClient"
_IPXE: Final = b"iPXE"


def client_arch(packet: Packet) -> int | None:
    """The client's architecture number: option 93's first entry, else option 60's.

    Option 60 of PXE and UEFI HTTP clients reads
    ``PXEClient:Arch:NNNNN:UNDI:MMMmmm`` (or ``HTTPClient:...``), with the
    same number in decimal. Returns None when neither says.
    """
    value = packet.options.get(_CLIENT_ARCH)
    if value is not None:
        try:
            return int(decode_client_arch(value)[0])
        except BadOption:
            pass  # fall back on option 60
    vendor = packet.options.get(_VENDOR_CLASS)
    if vendor is None or not (vendor.startswith(_PXE_PREFIX) or vendor.startswith(_HTTP_PREFIX)):
        return None
    parts = vendor.split(b":", 3)
    if len(parts) >= 3 and parts[1] == b"Arch" and len(parts[2]) == 5 and parts[2].isdigit():
        number = int(parts[2])
        return number if number <= 0xFFFF else None
    return None


def classify(packet: Packet) -> Firmware:
    """The firmware family of the client that sent ``packet``. Never raises."""
    arch = client_arch(packet)
    if arch is None:
        return Firmware.UNKNOWN
    return _BY_ARCH.get(arch, Firmware.UNKNOWN)


def is_pxe_client(packet: Packet) -> bool:
    """Option 60 begins with ``PXEClient`` (PXE 2.1 firmware, iPXE too)."""
    vendor = packet.options.get(_VENDOR_CLASS)
    return vendor is not None and vendor.startswith(_PXE_PREFIX)


def is_http_client(packet: Packet) -> bool:
    """Option 60 begins with ``HTTPClient`` (UEFI HTTP boot)."""
    vendor = packet.options.get(_VENDOR_CLASS)
    return vendor is not None and vendor.startswith(_HTTP_PREFIX)


def is_ipxe(packet: Packet) -> bool:
    """The client is iPXE: option 175 present, or option 77 names ``iPXE``.

    iPXE sends option 77 as the bare bytes ``iPXE``, not the RFC 3004
    length-prefixed form (FIRMWARE.md); both forms are accepted.
    """
    options = packet.options
    if _IPXE_ENCAP in options:
        return True
    user_class = options.get(_USER_CLASS)
    if user_class is None:
        return False
    return user_class == _IPXE or _IPXE in decode_user_class(user_class)


__all__ = ["Firmware", "classify", "client_arch", "is_http_client", "is_ipxe", "is_pxe_client"]
