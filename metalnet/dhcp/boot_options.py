"""Which operator options a client gets, and their bytes.

Options come in layers, like dnsmasq's ``set:TAG``/``tag:TAG``: the port's own
``extra_dhcp_opts`` first; where the port sets no boot option (66, 67, 150,
server-ip-address) the boot options of a fallback set apply (the network's
default set today; an owning hypervisor's set later). Within the layers, an
entry may be limited by a tag the client carries; for each option the most
specific matching entry wins: an ``ipxe``/``!ipxe`` entry over an architecture
entry (``bios``, ``efi-x86_64``, ``efi-arm64``) over an untagged one.
"""

from __future__ import annotations

import ipaddress
import struct
from collections.abc import Sequence
from dataclasses import dataclass

from metalnet.core.dhcp_opts import SIADDR_CODE, OptKind, ParsedOpt, parse_opt
from metalnet.core.model import ExtraDhcpOpt
from metalnet.wire.dhcp4 import Packet, is_ipxe
from metalnet.wire.dhcp4.pxe import client_arch

BOOT_CODES = frozenset({66, 67, 150, SIADDR_CODE})
"""Options that make up "where to boot from"; they come from one layer only."""

_ARCH_TAGS = {0: "bios", 7: "efi-x86_64", 9: "efi-x86_64", 11: "efi-arm64"}
_IPXE_TAGS = frozenset({"ipxe"})

_STRUCTS = {
    OptKind.U8: struct.Struct("!B"),
    OptKind.U16: struct.Struct("!H"),
    OptKind.U32: struct.Struct("!I"),
    OptKind.I32: struct.Struct("!i"),
}


def client_tags(packet: Packet) -> frozenset[str]:
    """The tags a request carries: ``ipxe`` and one architecture tag, when known."""
    tags = set()
    if is_ipxe(packet):
        tags.add("ipxe")
    arch = client_arch(packet)
    if arch is not None and arch in _ARCH_TAGS:
        tags.add(_ARCH_TAGS[arch])
    return frozenset(tags)


def encode_value(opt: ParsedOpt) -> bytes:
    """The option's value as it goes on the wire (values were checked when stored)."""
    kind, value = opt.definition.kind, opt.value
    if kind is OptKind.IP:
        return ipaddress.IPv4Address(value.strip()).packed
    if kind is OptKind.IPS:
        return b"".join(
            ipaddress.IPv4Address(p.strip()).packed for p in value.split(",") if p.strip()
        )
    if kind in _STRUCTS:
        return _STRUCTS[kind].pack(int(value))
    if kind is OptKind.BOOL:
        return b"\x01" if value.lower() in ("1", "true") else b"\x00"
    if kind is OptKind.HEX:
        return bytes.fromhex(value.replace(":", ""))
    return value.encode()


def _specificity(opt: ParsedOpt) -> int:
    if opt.tag is None:
        return 0
    return 2 if opt.tag in _IPXE_TAGS else 1


def _matches(opt: ParsedOpt, tags: frozenset[str]) -> bool:
    if opt.tag is None:
        return True
    return (opt.tag in tags) != opt.negated


def pick(entries: Sequence[ParsedOpt], tags: frozenset[str]) -> dict[int, ParsedOpt]:
    """For each option code, the most specific entry matching ``tags``."""
    chosen: dict[int, ParsedOpt] = {}
    for opt in entries:
        if not _matches(opt, tags):
            continue
        current = chosen.get(opt.code)
        if current is None or _specificity(opt) > _specificity(current):
            chosen[opt.code] = opt
    return chosen


def parse_all(opts: Sequence[ExtraDhcpOpt]) -> list[ParsedOpt]:
    """Resolve stored entries; ones that no longer parse are skipped (they were
    checked when stored, so this only guards against a table change)."""
    parsed = []
    for opt in opts:
        if opt.ip_version != 4:
            continue
        try:
            parsed.append(parse_opt(opt.opt_name, opt.opt_value))
        except ValueError:
            continue
    return parsed


def layered(own: Sequence[ParsedOpt], fallback: Sequence[ParsedOpt]) -> list[ParsedOpt]:
    """``own`` plus the boot options of ``fallback`` when ``own`` has none."""
    if any(opt.code in BOOT_CODES for opt in own):
        return list(own)
    return [*own, *(opt for opt in fallback if opt.code in BOOT_CODES)]


@dataclass(frozen=True, slots=True)
class BootReply:
    """What the operator's options put into a reply.

    :ivar options: option code -> bytes (without server-ip-address).
    :ivar siaddr: next-server, 0 when none applies.
    :ivar file: the BOOTP ``file`` field (the boot file name, when it fits).
    """

    options: dict[int, bytes]
    siaddr: int
    file: bytes

    @classmethod
    def build(cls, chosen: dict[int, ParsedOpt]) -> BootReply:
        """Encode the chosen entries.

        Next-server comes from server-ip-address, else from the first
        tftp-server-address, else from a tftp-server given as an address,
        so firmware that only reads ``siaddr`` (OVMF) still finds the server.
        """
        options = {code: encode_value(opt) for code, opt in chosen.items() if code != SIADDR_CODE}
        siaddr = 0
        if SIADDR_CODE in chosen:
            siaddr = int(ipaddress.IPv4Address(chosen[SIADDR_CODE].value.strip()))
        elif 150 in options:
            siaddr = int.from_bytes(options[150][:4], "big")
        elif 66 in options:
            try:
                siaddr = int(ipaddress.IPv4Address(options[66].decode()))
            except ValueError:
                siaddr = 0
        bootfile = options.get(67, b"")
        return cls(options, siaddr, bootfile if len(bootfile) < 128 else b"")


EMPTY = BootReply({}, 0, b"")
