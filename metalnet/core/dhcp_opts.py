"""The DHCP options an operator may attach to ports and networks.

Names follow dnsmasq and Neutron (``bootfile-name``, ``tftp-server``, ...), and a
bare number (``67``) or ``option:NAME`` is accepted too. A name may carry one tag
prefix, as in Neutron's ``extra_dhcp_opts``::

    tag:ipxe,bootfile-name        only for iPXE clients (option 175 or user-class "iPXE")
    tag:!ipxe,bootfile-name       only for clients that are not iPXE
    tag:bios,...  tag:efi-x86_64,...  tag:efi-arm64,...   by option 93

The values are strings in the API; :func:`parse_opt` checks them against the
option's kind so a bad one is refused when stored, never when a machine boots.
``server-ip-address`` (255 in dnsmasq's numbering) is not a real option: it sets
the BOOTP ``siaddr`` field (next-server).
"""

from __future__ import annotations

import enum
import ipaddress
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from metalnet.core.model import ExtraDhcpOpt
from metalnet.errors import InvalidInput


class OptKind(enum.Enum):
    """How an option's string value is checked and encoded."""

    IP = "ip"
    IPS = "ips"
    TEXT = "text"
    U8 = "u8"
    U16 = "u16"
    U32 = "u32"
    I32 = "i32"
    BOOL = "bool"
    HEX = "hex"


@dataclass(frozen=True, slots=True)
class OptDef:
    """One sendable option: its dnsmasq name, code and kind."""

    name: str
    code: int
    kind: OptKind


SIADDR_CODE = 255
"""dnsmasq's pseudo-code for ``server-ip-address``: sets ``siaddr``, not an option."""

_K = OptKind
OPTION_TABLE: tuple[OptDef, ...] = (
    OptDef("netmask", 1, _K.IP),
    OptDef("time-offset", 2, _K.I32),
    OptDef("router", 3, _K.IPS),
    OptDef("time-server", 4, _K.IPS),
    OptDef("dns-server", 6, _K.IPS),
    OptDef("log-server", 7, _K.IPS),
    OptDef("lpr-server", 9, _K.IPS),
    OptDef("hostname", 12, _K.TEXT),
    OptDef("boot-file-size", 13, _K.U16),
    OptDef("domain-name", 15, _K.TEXT),
    OptDef("swap-server", 16, _K.IP),
    OptDef("root-path", 17, _K.TEXT),
    OptDef("extension-path", 18, _K.TEXT),
    OptDef("ip-forward-enable", 19, _K.BOOL),
    OptDef("default-ttl", 23, _K.U8),
    OptDef("mtu", 26, _K.U16),
    OptDef("all-subnets-local", 27, _K.BOOL),
    OptDef("broadcast", 28, _K.IP),
    OptDef("router-discovery", 31, _K.BOOL),
    OptDef("arp-timeout", 35, _K.U32),
    OptDef("tcp-ttl", 37, _K.U8),
    OptDef("tcp-keepalive", 38, _K.U32),
    OptDef("nis-domain", 40, _K.TEXT),
    OptDef("nis-server", 41, _K.IPS),
    OptDef("ntp-server", 42, _K.IPS),
    OptDef("vendor-encap", 43, _K.HEX),
    OptDef("netbios-ns", 44, _K.IPS),
    OptDef("netbios-dd", 45, _K.IPS),
    OptDef("netbios-nodetype", 46, _K.U8),
    OptDef("netbios-scope", 47, _K.TEXT),
    OptDef("lease-time", 51, _K.U32),
    OptDef("message", 56, _K.TEXT),
    OptDef("T1", 58, _K.U32),
    OptDef("T2", 59, _K.U32),
    OptDef("vendor-class", 60, _K.TEXT),
    OptDef("nis+-domain", 64, _K.TEXT),
    OptDef("nis+-server", 65, _K.IPS),
    OptDef("tftp-server", 66, _K.TEXT),
    OptDef("bootfile-name", 67, _K.TEXT),
    OptDef("smtp-server", 69, _K.IPS),
    OptDef("pop3-server", 70, _K.IPS),
    OptDef("nntp-server", 71, _K.IPS),
    OptDef("irc-server", 74, _K.IPS),
    OptDef("user-class", 77, _K.TEXT),
    OptDef("domain-search", 119, _K.TEXT),
    OptDef("sip-server", 120, _K.IPS),
    OptDef("tftp-server-address", 150, _K.IPS),
    OptDef("server-ip-address", SIADDR_CODE, _K.IP),
)
_BY_NAME = {d.name.lower(): d for d in OPTION_TABLE}
_BY_CODE = {d.code: d for d in OPTION_TABLE}

# Option codes the server owns: an operator value would contradict the lease.
RESERVED_CODES = frozenset({50, 52, 53, 54, 55, 57, 61, 82})

KNOWN_TAGS = frozenset({"ipxe", "bios", "efi-x86_64", "efi-arm64"})
"""Tags the DHCP server sets from what a client sends."""


class OptionError(ValueError):
    """An ``extra_dhcp_opts`` entry names an unknown option or has a bad value."""


@dataclass(frozen=True, slots=True)
class ParsedOpt:
    """An option entry resolved against the table.

    :ivar tag: the tag the entry is limited to, or ``None`` for every client.
    :ivar negated: ``True`` for ``tag:!NAME`` (clients without the tag).
    """

    definition: OptDef
    value: str
    tag: str | None = None
    negated: bool = False

    @property
    def code(self) -> int:
        """The option code (255 for ``server-ip-address``)."""
        return self.definition.code


def lookup_option(name: str) -> OptDef:
    """Resolve an option name (``bootfile-name``, ``option:bootfile-name``, ``67``).

    :raises OptionError: the name is not an option metalnet can send.
    """
    key = name.strip().lower()
    if key.startswith("option:"):
        key = key[len("option:") :]
    if key.isdigit():
        code = int(key)
        if code in RESERVED_CODES:
            raise OptionError(f"option {code} is set by the server and cannot be overridden")
        if code in _BY_CODE:
            return _BY_CODE[code]
        if 1 <= code <= 254:
            return OptDef(str(code), code, OptKind.TEXT)
        raise OptionError(f"option code {code} is out of range 1-254")
    definition = _BY_NAME.get(key)
    if definition is None:
        raise OptionError(f"unknown DHCP option name '{name}'")
    return definition


def split_tag(opt_name: str) -> tuple[str | None, bool, str]:
    """Split ``tag:[!]NAME,option`` into (tag, negated, option).

    :raises OptionError: the prefix is malformed or names an unknown tag.
    """
    if not opt_name.startswith("tag:"):
        return None, False, opt_name
    tag_part, sep, rest = opt_name[len("tag:") :].partition(",")
    if not sep or not rest:
        raise OptionError(f"'{opt_name}': a tag prefix must be followed by ',OPTION'")
    negated = tag_part.startswith("!")
    tag = tag_part[1:] if negated else tag_part
    if tag not in KNOWN_TAGS:
        known = ", ".join(sorted(KNOWN_TAGS))
        raise OptionError(f"'{opt_name}': unknown tag '{tag}' (known: {known})")
    if rest.startswith("tag:"):
        raise OptionError(f"'{opt_name}': only one tag prefix is allowed")
    return tag, negated, rest


def parse_opt(opt_name: str, opt_value: str) -> ParsedOpt:
    """Check one ``extra_dhcp_opts`` entry and resolve it.

    :raises OptionError: unknown name or tag, or a value that does not fit the option.
    """
    tag, negated, name = split_tag(opt_name)
    definition = lookup_option(name)
    check_value(definition, opt_value)
    return ParsedOpt(definition, opt_value, tag, negated)


def _ip(text: str) -> None:
    try:
        ipaddress.IPv4Address(text.strip())
    except ValueError as exc:
        raise OptionError(f"'{text}' is not an IPv4 address") from exc


_INT_RANGES = {
    OptKind.U8: (0, 0xFF),
    OptKind.U16: (0, 0xFFFF),
    OptKind.U32: (0, 0xFFFFFFFF),
    OptKind.I32: (-(2**31), 2**31 - 1),
}


def check_value(definition: OptDef, value: str) -> None:
    """Check ``value`` against the option's kind.

    :raises OptionError: the value does not fit.
    """
    kind = definition.kind
    bad = f"bad value '{value}' for option {definition.name}"
    if kind is OptKind.IP:
        _ip(value)
    elif kind is OptKind.IPS:
        parts = [p for p in value.split(",") if p.strip()]
        if not parts:
            raise OptionError(f"{bad}: expected a list of IPv4 addresses")
        for part in parts:
            _ip(part)
    elif kind in _INT_RANGES:
        low, high = _INT_RANGES[kind]
        try:
            number = int(value)
        except ValueError as exc:
            raise OptionError(f"{bad}: expected an integer") from exc
        if not low <= number <= high:
            raise OptionError(f"{bad}: out of range {low}-{high}")
    elif kind is OptKind.BOOL:
        if value.lower() not in {"0", "1", "true", "false"}:
            raise OptionError(f"{bad}: expected true/false/0/1")
    elif kind is OptKind.HEX:
        try:
            bytes.fromhex(value.replace(":", ""))
        except ValueError as exc:
            raise OptionError(f"{bad}: expected hex bytes such as 01:02:ff") from exc
    elif not value or len(value.encode()) > 255 * 4:
        raise OptionError(f"{bad}: text must be 1 to 1020 bytes")


def check_extra_dhcp_opts(entries: Sequence[Mapping[str, Any]]) -> tuple[ExtraDhcpOpt, ...]:
    """Validate ``extra_dhcp_opts``-style entries; entries with a null value are dropped.

    :raises InvalidInput: a bad name, tag, value or ip_version, or a duplicate name.
    """
    opts = []
    for entry in entries:
        name, value = entry.get("opt_name"), entry.get("opt_value")
        version = entry.get("ip_version", 4)
        if version != 4:
            raise InvalidInput(reason=f"extra_dhcp_opt '{name}': only ip_version 4 is served")
        if not isinstance(name, str) or not name:
            raise InvalidInput(reason="extra_dhcp_opts entries need an opt_name")
        if value is None:
            continue
        try:
            parse_opt(name, str(value))
        except OptionError as exc:
            raise InvalidInput(reason=f"extra_dhcp_opt '{name}': {exc}") from exc
        opts.append(ExtraDhcpOpt(name, str(value), version))
    if len({(o.opt_name, o.ip_version) for o in opts}) != len(opts):
        raise InvalidInput(reason="duplicate opt_name in extra_dhcp_opts")
    return tuple(opts)
