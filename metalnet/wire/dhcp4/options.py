"""DHCPv4 options: the container, the TLV framing and per-option codecs.

Validation is lazy, by design
-----------------------------
:meth:`Packet.from_wire <metalnet.wire.dhcp4.packet.Packet.from_wire>` only
checks the *framing* of the options (every length fits, overload flag is sane)
and stores each option as raw bytes in an :class:`Options` map, code ->
value, in first-seen order. The *content* of a known option is checked when
a typed accessor (``packet.requested_ip``, ``packet.client_uuid``, ...) or a
``decode_*`` function here reads it, which raises
:class:`~metalnet.wire.errors.BadOption` if it does not fit its definition.

Why: the hot path reads a handful of the options a client sends, so decoding
all of them up front wastes time; and a client that sends, say, a malformed
option 12 should still get an address, because the server never looks at it.
The price is that a caller must be ready for ``BadOption`` from an accessor;
the accessors raise nothing else.

Other rules
-----------
* Unknown option codes are kept as raw bytes and written back unchanged.
* Several instances of one code are concatenated on decode (RFC 3396), in the
  order options field, ``file``, ``sname``; on encode a value longer than 255
  bytes is split into consecutive instances of the same code.
* Pad (0) and end (255) are framing, never stored; option 52 (overload) is
  framing too: the decoder consumes it and the encoder writes it when it
  overflows into ``file``/``sname``.
"""

from __future__ import annotations

import uuid
from collections.abc import Collection, Iterable, Iterator, Mapping
from dataclasses import dataclass
from ipaddress import IPv4Address
from typing import Final

from metalnet.wire.buffer import Reader
from metalnet.wire.dhcp4.consts import ClientArch, MessageType, OptionCode
from metalnet.wire.errors import BadOption, Truncated

#: Sub-options as decoded: (code, value) pairs in wire order, duplicates kept.
SubOptions = tuple[tuple[int, bytes], ...]

#: Options a reply keeps even when the client's parameter request list (55)
#: omits them: message type, server id and lease times (RFC 2131 table 3),
#: subnet mask (clients configure nothing useful without it) and relay agent
#: information, which must be echoed (RFC 3046 2.2).
ALWAYS_SENT: Final[frozenset[int]] = frozenset(
    int(code)
    for code in (
        OptionCode.MESSAGE_TYPE,
        OptionCode.SERVER_ID,
        OptionCode.LEASE_TIME,
        OptionCode.RENEWAL_TIME,
        OptionCode.REBINDING_TIME,
        OptionCode.SUBNET_MASK,
        OptionCode.CLIENT_ID,
        OptionCode.RELAY_AGENT_INFO,
    )
)

# Plain ints for the hot paths: reading an enum member costs ~100 ns on 3.11.
_OVERLOAD: Final = int(OptionCode.OVERLOAD)
_MESSAGE_TYPE: Final = int(OptionCode.MESSAGE_TYPE)
_SERVER_ID: Final = int(OptionCode.SERVER_ID)
_RELAY_AGENT_INFO: Final = int(OptionCode.RELAY_AGENT_INFO)

_MESSAGE_TYPES: Final[dict[int, MessageType]] = {int(m): m for m in MessageType}
_CLIENT_ARCHES: Final[dict[int, ClientArch]] = {int(a): a for a in ClientArch}


class Options(Mapping[int, bytes]):
    """Immutable, ordered map of option code -> raw value bytes.

    Equality is order-sensitive (two maps are equal when they would encode to
    the same bytes). Build one from a dict or from (code, value) pairs; use
    :func:`encode_ip`, :func:`encode_u32`, ... for the values.
    """

    __slots__ = ("_items",)

    _items: dict[int, bytes]

    def __init__(self, items: Mapping[int, bytes] | Iterable[tuple[int, bytes]] = ()) -> None:
        self._items = dict(items)

    @classmethod
    def _adopt(cls, items: dict[int, bytes]) -> Options:
        """Wrap ``items`` without copying; the caller must not keep a reference."""
        obj = cls.__new__(cls)
        obj._items = items
        return obj

    def __getitem__(self, code: int) -> bytes:
        return self._items[code]

    def get(self, code: int, default: bytes | None = None) -> bytes | None:  # type: ignore[override]
        """The raw value of ``code``, or ``default``."""
        return self._items.get(code, default)

    def __contains__(self, code: object) -> bool:
        return code in self._items

    def __iter__(self) -> Iterator[int]:
        return iter(self._items)

    def __len__(self) -> int:
        return len(self._items)

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Options):
            return list(self._items.items()) == list(other._items.items())
        return NotImplemented

    def __hash__(self) -> int:
        return hash(tuple(self._items.items()))

    def __repr__(self) -> str:
        inner = ", ".join(f"{code}: {value!r}" for code, value in self._items.items())
        return f"Options({{{inner}}})"

    def with_option(self, code: int, value: bytes) -> Options:
        """A copy with ``code`` set to ``value`` (kept in place if present, else appended)."""
        items = dict(self._items)
        items[code] = value
        return Options._adopt(items)

    def without(self, *codes: int) -> Options:
        """A copy without ``codes``."""
        return Options._adopt({c: v for c, v in self._items.items() if c not in codes})


# --------------------------------------------------------------------------- framing


def decode_area(data: bytes, pos: int, end: int, into: dict[int, bytes]) -> None:
    """Read TLV options from ``data[pos:end]`` into ``into`` until end (255) or ``end``.

    A value whose code is already in ``into`` is appended to it (RFC 3396).
    This loop is hand-written over indexes rather than with
    :class:`~metalnet.wire.buffer.Reader` because it runs for every option of
    every packet; ``stop > end`` bounds every value.

    :raises Truncated: an option's length byte or value runs past ``end``.
    """
    try:
        while pos < end:
            code = data[pos]
            if code == 0:  # pad
                pos += 1
            elif code == 255:  # end
                return
            else:
                # If pos + 1 == end the "length" is the next area's first byte
                # (or IndexError at the end of data); either way pos > end below.
                start = pos + 2
                pos = start + data[pos + 1]
                if pos > end:
                    raise Truncated(f"option {code} runs past the end of its area", start - 2)
                if code in into:
                    into[code] += data[start:pos]
                else:
                    into[code] = data[start:pos]
    except IndexError:
        raise Truncated("option length byte missing", pos) from None
    # Running out of bytes without an end option is tolerated: some relays
    # and embedded clients trim it, and nothing is lost.


def option_instances(options: Mapping[int, bytes]) -> list[tuple[int, bytes]]:
    """Split ``options`` into wire instances of at most 255 bytes each (RFC 3396).

    Option 52 is left out: the packet encoder owns it.

    :raises BadOption: a code is not in 1..254.
    """
    out: list[tuple[int, bytes]] = []
    for code, value in options.items():
        if code == _OVERLOAD:
            continue
        if not 0 < code < 255:
            raise BadOption(f"option code {code} cannot carry data")
        if len(value) <= 255:
            out.append((code, value))
        else:
            for start in range(0, len(value), 255):
                out.append((code, value[start : start + 255]))
    return out


# --------------------------------------------------------------------------- encoders


def encode_u8(value: int) -> bytes:
    """One unsigned byte. :raises BadOption: out of range."""
    return _to_bytes(value, 1)


def encode_u16(value: int) -> bytes:
    """A network-order 16-bit value. :raises BadOption: out of range."""
    return _to_bytes(value, 2)


def encode_u32(value: int) -> bytes:
    """A network-order 32-bit value (lease times, ...). :raises BadOption: out of range."""
    return _to_bytes(value, 4)


def _to_bytes(value: int, size: int) -> bytes:
    try:
        return int(value).to_bytes(size, "big")
    except OverflowError:
        raise BadOption(f"{value} does not fit in {size} byte(s)") from None


def encode_ip(addr: int | IPv4Address) -> bytes:
    """Four bytes of an IPv4 address given as an int or ``IPv4Address``."""
    if type(addr) is int and 0 <= addr <= 0xFFFFFFFF:
        return addr.to_bytes(4, "big")
    if isinstance(addr, IPv4Address):
        return addr.packed
    return _to_bytes(addr, 4)


def encode_ips(addrs: Iterable[int | IPv4Address]) -> bytes:
    """Concatenated IPv4 addresses (options 3, 6, 42, 150, ...)."""
    return b"".join(encode_ip(a) for a in addrs)


def encode_text(text: str) -> bytes:
    """UTF-8 bytes of ``text``, without a NUL terminator (RFC 2132 section 2)."""
    return text.encode("utf-8")


def encode_message_type(message_type: int) -> bytes:
    """Option 53's value."""
    return encode_u8(message_type)


def encode_parameter_request_list(codes: Iterable[int]) -> bytes:
    """Option 55's value."""
    try:
        return bytes(codes)
    except ValueError:
        raise BadOption("parameter request list codes must be 0..255") from None


def encode_user_class(classes: Iterable[bytes]) -> bytes:
    """Option 77 in the RFC 3004 form (each class length-prefixed).

    :raises BadOption: a class is empty or longer than 255 bytes.
    """
    out = bytearray()
    for item in classes:
        if not 0 < len(item) <= 255:
            raise BadOption("a user class must be 1..255 bytes")
        out.append(len(item))
        out += item
    return bytes(out)


def encode_suboptions(suboptions: Iterable[tuple[int, bytes]], *, end: bool = False) -> bytes:
    """Encapsulated sub-options (options 43, 82, 175): code, length, value.

    :param end: append an end marker (255), as PXE option 43 expects.
    :raises BadOption: a code is out of 0..255 or a value is longer than 255 bytes.
    """
    out = bytearray()
    for code, value in suboptions:
        if not 0 <= code <= 255 or len(value) > 255:
            raise BadOption(f"sub-option {code} does not fit (length {len(value)})")
        out.append(code)
        out.append(len(value))
        out += value
    if end:
        out.append(255)
    return bytes(out)


def encode_client_arch(*arches: int) -> bytes:
    """Option 93's value: one 16-bit type per supported architecture."""
    return b"".join(encode_u16(a) for a in arches)


def encode_client_ndi(major: int, minor: int, *, interface_type: int = 1) -> bytes:
    """Option 94's value (type 1 = UNDI, then major and minor revision)."""
    return encode_u8(interface_type) + encode_u8(major) + encode_u8(minor)


def encode_client_uuid(value: uuid.UUID) -> bytes:
    """Option 97's value: type 0 followed by the 16 bytes as given."""
    return b"\x00" + value.bytes


# --------------------------------------------------------------------------- decoders


def _exact(value: bytes, size: int, code: int) -> bytes:
    if len(value) != size:
        raise BadOption(f"option {code}: length {len(value)}, expected {size}")
    return value


def decode_u8(value: bytes, code: int) -> int:
    """One-byte option. :raises BadOption: wrong length."""
    return _exact(value, 1, code)[0]


def decode_u16(value: bytes, code: int) -> int:
    """Two-byte option. :raises BadOption: wrong length."""
    return int.from_bytes(_exact(value, 2, code), "big")


def decode_u32(value: bytes, code: int) -> int:
    """Four-byte option. :raises BadOption: wrong length."""
    return int.from_bytes(_exact(value, 4, code), "big")


def decode_ip(value: bytes, code: int) -> IPv4Address:
    """Single-address option (1, 28, 50, 54, ...). :raises BadOption: not 4 bytes."""
    return IPv4Address(_exact(value, 4, code))


def decode_ips(value: bytes, code: int) -> tuple[IPv4Address, ...]:
    """Address-list option (3, 6, 42, 150, ...).

    :raises BadOption: empty, or the length is not a multiple of 4.
    """
    if not value or len(value) % 4:
        raise BadOption(f"option {code}: length {len(value)} is not a list of addresses")
    return tuple(IPv4Address(value[i : i + 4]) for i in range(0, len(value), 4))


def decode_text(value: bytes, code: int) -> str:
    """Text option (12, 15, 66, 67, ...), trailing NULs dropped.

    RFC 2132 says text is not NUL-terminated, but several clients terminate
    it anyway; the NULs are dropped here (the raw value still round-trips).

    :raises BadOption: not valid UTF-8.
    """
    try:
        return value.rstrip(b"\x00").decode("utf-8")
    except UnicodeDecodeError:
        raise BadOption(f"option {code}: text is not UTF-8") from None


def decode_message_type(value: bytes) -> MessageType:
    """Option 53 (unknown values kept as pseudo-members). :raises BadOption: not 1 byte."""
    if len(value) != 1:
        raise BadOption(f"option 53: length {len(value)}, expected 1")
    member = _MESSAGE_TYPES.get(value[0])
    return MessageType(value[0]) if member is None else member


def decode_parameter_request_list(value: bytes) -> tuple[int, ...]:
    """Option 55: the codes in the client's order. Never raises."""
    return tuple(value)


def decode_user_class(value: bytes) -> tuple[bytes, ...]:
    """Option 77 as a tuple of classes. Never raises.

    RFC 3004 sends length-prefixed classes, but iPXE sends the bare bytes
    ``iPXE`` (FIRMWARE.md); old ISC clients did the same. The value is read as
    RFC 3004 when the lengths tile it exactly with non-empty classes, and
    otherwise taken whole as one class. (``iPXE`` can never tile: its first
    byte, 105, is longer than what follows.)
    """
    items: list[bytes] = []
    pos, end = 0, len(value)
    while pos < end:
        n = value[pos]
        if n == 0 or pos + 1 + n > end:
            return (value,)
        items.append(value[pos + 1 : pos + 1 + n])
        pos += 1 + n
    return tuple(items)


def decode_suboptions(value: bytes, code: int, *, pad_end: bool = False) -> SubOptions:
    """Encapsulated sub-options as (code, value) pairs, in order, duplicates kept.

    :param code: the enclosing option's code (for error messages).
    :param pad_end: treat sub-codes 0 and 255 as pad and end (PXE option 43);
        relay agent information (82) and iPXE (175) use no such markers.
    :raises BadOption: a sub-option's length runs past the option.
    """
    reader = Reader(value)
    out: list[tuple[int, bytes]] = []
    try:
        while reader.remaining():
            sub = reader.u8()
            if pad_end:
                if sub == 0:
                    continue
                if sub == 255:
                    break
            with reader.restrict_to(reader.u8()):
                out.append((sub, reader.rest()))
    except Truncated as exc:
        raise BadOption(f"option {code}: sub-option {exc}") from None
    return tuple(out)


@dataclass(frozen=True, slots=True)
class RelayAgentInfo:
    """Option 82 (RFC 3046) as sent by the relay.

    :param raw: the exact option value; echo this back, byte for byte.
    :param suboptions: (code, value) pairs in wire order; unknown codes kept.
    """

    raw: bytes
    suboptions: SubOptions

    @property
    def circuit_id(self) -> bytes | None:
        """Sub-option 1, the first one if repeated."""
        return self._first(1)

    @property
    def remote_id(self) -> bytes | None:
        """Sub-option 2, the first one if repeated."""
        return self._first(2)

    def _first(self, code: int) -> bytes | None:
        for sub, value in self.suboptions:
            if sub == code:
                return value
        return None


def decode_relay_agent_info(value: bytes) -> RelayAgentInfo:
    """Option 82. :raises BadOption: a sub-option runs past the option."""
    return RelayAgentInfo(value, decode_suboptions(value, OptionCode.RELAY_AGENT_INFO))


def decode_client_arch(value: bytes) -> tuple[ClientArch, ...]:
    """Option 93: one or more 16-bit architecture types (RFC 4578 2.1).

    :raises BadOption: empty or odd length.
    """
    if not value or len(value) % 2:
        raise BadOption(f"option 93: length {len(value)} is not a list of 16-bit types")
    out: list[ClientArch] = []
    for i in range(0, len(value), 2):
        number = (value[i] << 8) | value[i + 1]
        member = _CLIENT_ARCHES.get(number)
        out.append(ClientArch(number) if member is None else member)
    return tuple(out)


@dataclass(frozen=True, slots=True)
class ClientNdi:
    """Option 94, client network interface identifier (RFC 4578 2.2).

    :param interface_type: 1 for UNDI.
    :param major: UNDI major revision (2 for "2.1", 3 for "3.0").
    :param minor: UNDI minor revision.
    """

    interface_type: int
    major: int
    minor: int


def decode_client_ndi(value: bytes) -> ClientNdi:
    """Option 94. :raises BadOption: not 3 bytes."""
    _exact(value, 3, OptionCode.CLIENT_NDI)
    return ClientNdi(value[0], value[1], value[2])


def decode_client_uuid(value: bytes) -> uuid.UUID:
    """Option 97: type 0 then 16 bytes, returned as ``UUID(bytes=...)``, wire order.

    Firmware copies the SMBIOS bytes, whose first three fields are
    little-endian (FIRMWARE.md); use :func:`uuid_to_dmi` to compare with the
    ``product_uuid`` string Linux prints.

    :raises BadOption: not 17 bytes, or the type byte is not 0.
    """
    if len(value) != 17 or value[0] != 0:
        raise BadOption(f"option 97: expected type 0 and 16 bytes, got {len(value)} bytes")
    return uuid.UUID(bytes=value[1:])


def uuid_to_dmi(value: uuid.UUID) -> str:
    """The DMI/SMBIOS ``product_uuid`` string for an option 97 UUID.

    Swaps the byte order of the first three fields (time_low, time_mid,
    time_hi_and_version), the way SMBIOS 2.6+ stores them. The swap is its
    own inverse, so ``uuid_to_dmi(UUID(uuid_to_dmi(u))) == str(u)``.
    """
    return str(uuid.UUID(bytes_le=value.bytes))


def dmi_to_uuid(product_uuid: str) -> uuid.UUID:
    """The option 97 UUID (wire order) for a DMI ``product_uuid`` string.

    :raises BadOption: ``product_uuid`` is not a UUID.
    """
    try:
        return uuid.UUID(bytes=uuid.UUID(product_uuid).bytes_le)
    except ValueError:
        raise BadOption(f"not a UUID: {product_uuid!r}") from None


# --------------------------------------------------------------------------- replies


def select_reply_options(
    candidates: Mapping[int, bytes],
    parameter_request_list: Iterable[int] | None,
    *,
    always: Collection[int] = ALWAYS_SENT,
) -> Options:
    """Choose and order a reply's options from what the server could send.

    RFC 2131 4.3.1: the server returns the requested options it has, in any
    order; this follows the client's order (some firmware reads only the
    first copy of what it expects), puts 53 and 54 first and 82 last (where
    relays look for it), and keeps ``always`` even when not requested. With
    no option 55 every candidate is kept.

    :param candidates: code -> value the server is willing to send.
    :param parameter_request_list: ``request.parameter_request_list`` or None.
    :param always: codes kept whether requested or not.
    """
    out: dict[int, bytes] = {}
    for first in (_MESSAGE_TYPE, _SERVER_ID):
        value = candidates.get(first)
        if value is not None:
            out[first] = value
    if parameter_request_list is None:
        for code, value in candidates.items():
            if code not in out:
                out[code] = value
    else:
        for code in parameter_request_list:
            value = candidates.get(code)
            if value is not None and code not in out:
                out[code] = value
        for code, value in candidates.items():
            if code in always and code not in out:
                out[code] = value
    relay = out.pop(_RELAY_AGENT_INFO, None)
    if relay is not None:
        out[_RELAY_AGENT_INFO] = relay
    return Options._adopt(out)


__all__ = [
    "ALWAYS_SENT",
    "ClientNdi",
    "Options",
    "RelayAgentInfo",
    "SubOptions",
    "decode_area",
    "decode_client_arch",
    "decode_client_ndi",
    "decode_client_uuid",
    "decode_ip",
    "decode_ips",
    "decode_message_type",
    "decode_parameter_request_list",
    "decode_relay_agent_info",
    "decode_suboptions",
    "decode_text",
    "decode_u8",
    "decode_u16",
    "decode_u32",
    "decode_user_class",
    "dmi_to_uuid",
    "encode_client_arch",
    "encode_client_ndi",
    "encode_client_uuid",
    "encode_ip",
    "encode_ips",
    "encode_message_type",
    "encode_parameter_request_list",
    "encode_suboptions",
    "encode_text",
    "encode_u8",
    "encode_u16",
    "encode_u32",
    "encode_user_class",
    "option_instances",
    "select_reply_options",
    "uuid_to_dmi",
]
