"""TFTP packets (RFC 1350) with option extension (RFC 2347, 2348, 2349, 7440).

Every packet is a frozen dataclass with ``to_wire()``; :func:`from_wire` decodes
any bytes into one of them or raises a :class:`~metalnet.wire.errors.WireError`.

Strings (file names, modes, options) are decoded as UTF-8 with
``surrogateescape``, so any byte sequence round-trips and maps onto the same
file-system bytes a POSIX path would.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from enum import IntEnum

from metalnet.wire.buffer import Writer
from metalnet.wire.errors import BadOption, BadPacket, Truncated, WireError

BLKSIZE_DEFAULT = 512
BLKSIZE_MIN = 8  # RFC 2348
BLKSIZE_MAX = 65464  # RFC 2348
TIMEOUT_MIN = 1  # RFC 2349, seconds
TIMEOUT_MAX = 255
WINDOWSIZE_MIN = 1  # RFC 7440
WINDOWSIZE_MAX = 65535

# An option value longer than this is not a number we accept (and keeps int() cheap).
_MAX_DIGITS = 20

_HEADER = struct.Struct("!HH")


class Opcode(IntEnum):
    """TFTP opcodes (RFC 1350, OACK from RFC 2347)."""

    RRQ = 1
    WRQ = 2
    DATA = 3
    ACK = 4
    ERROR = 5
    OACK = 6


class ErrorCode(IntEnum):
    """Error codes of the ERROR packet (RFC 1350; 8 from RFC 2347)."""

    NOT_DEFINED = 0
    FILE_NOT_FOUND = 1
    ACCESS_VIOLATION = 2
    DISK_FULL = 3
    ILLEGAL_OPERATION = 4
    UNKNOWN_TID = 5
    FILE_EXISTS = 6
    NO_SUCH_USER = 7
    OPTION_REFUSED = 8


class Mode(IntEnum):
    """Transfer modes a request may name. RFC 1350's ``mail`` is obsolete and refused."""

    NETASCII = 1
    OCTET = 2


# The opcodes of the per-packet paths as plain ints: reading an IntEnum member
# costs more than the comparison or the pack it serves.
_DATA = int(Opcode.DATA)
_ACK = int(Opcode.ACK)

_MODES = {"netascii": Mode.NETASCII, "octet": Mode.OCTET}
_MODE_NAMES = {Mode.NETASCII: "netascii", Mode.OCTET: "octet"}

Options = tuple[tuple[str, str], ...]
"""Option name/value pairs in packet order; names lower-cased (RFC 2347: case-insensitive)."""


@dataclass(frozen=True, slots=True)
class RRQ:
    """Read request: ``filename``, ``mode`` and options (names lower-cased)."""

    filename: str
    mode: Mode = Mode.OCTET
    options: Options = ()

    def to_wire(self) -> bytes:
        """Encode; raises :class:`WireError` when a string holds a NUL."""
        return _encode_request(Opcode.RRQ, self.filename, self.mode, self.options)


@dataclass(frozen=True, slots=True)
class WRQ:
    """Write request; same layout as :class:`RRQ`."""

    filename: str
    mode: Mode = Mode.OCTET
    options: Options = ()

    def to_wire(self) -> bytes:
        """Encode; raises :class:`WireError` when a string holds a NUL."""
        return _encode_request(Opcode.WRQ, self.filename, self.mode, self.options)


@dataclass(frozen=True, slots=True)
class DATA:
    """One block of file data; ``block`` is the 16-bit wire number."""

    block: int
    data: bytes

    def to_wire(self) -> bytes:
        """Encode; raises :class:`WireError` for a block number outside 0..65535."""
        return encode_data_header(self.block) + self.data


@dataclass(frozen=True, slots=True)
class ACK:
    """Acknowledgement of ``block`` (0 acknowledges an OACK)."""

    block: int

    def to_wire(self) -> bytes:
        """Encode; raises :class:`WireError` for a block number outside 0..65535."""
        _check_u16(self.block, "block")
        return _HEADER.pack(Opcode.ACK, self.block)


@dataclass(frozen=True, slots=True)
class ERROR:
    """Error packet. ``code`` stays a plain int: unknown codes are kept as sent."""

    code: int
    message: str = ""

    def to_wire(self) -> bytes:
        """Encode; raises :class:`WireError` for a bad code or a NUL in the message."""
        _check_u16(self.code, "error code")
        w = Writer()
        w.u16(Opcode.ERROR)
        w.u16(self.code)
        _put_string(w, self.message)
        return w.getvalue()


@dataclass(frozen=True, slots=True)
class OACK:
    """Option acknowledgement (RFC 2347): the options the server accepted."""

    options: Options

    def to_wire(self) -> bytes:
        """Encode; raises :class:`WireError` when a string holds a NUL."""
        w = Writer()
        w.u16(Opcode.OACK)
        _put_options(w, self.options)
        return w.getvalue()


Packet = RRQ | WRQ | DATA | ACK | ERROR | OACK


@dataclass(frozen=True, slots=True)
class RequestOptions:
    """The options of a request that this codebase understands, checked against their RFCs.

    ``None`` means "not asked for, or asked for with a value the RFC does not allow".
    Values above the maximum of ``blksize`` and ``windowsize`` are lowered to it,
    since both RFCs let the server answer with a smaller value; any other
    out-of-range or non-numeric value is dropped, so the option is not acknowledged.
    """

    blksize: int | None = None
    tsize: int | None = None
    timeout: int | None = None
    windowsize: int | None = None

    @classmethod
    def from_options(cls, options: Options) -> RequestOptions:
        """Pick the known options out of ``options``; the first valid occurrence of a name wins."""
        values: dict[str, int] = {}
        for name, raw in options:
            if name in values:
                continue
            number = _parse_number(raw)
            if number is None:
                continue
            if name == "blksize" and number >= BLKSIZE_MIN:
                values[name] = min(number, BLKSIZE_MAX)
            elif name == "windowsize" and number >= WINDOWSIZE_MIN:
                values[name] = min(number, WINDOWSIZE_MAX)
            elif (name == "timeout" and TIMEOUT_MIN <= number <= TIMEOUT_MAX) or name == "tsize":
                values[name] = number
        return cls(
            blksize=values.get("blksize"),
            tsize=values.get("tsize"),
            timeout=values.get("timeout"),
            windowsize=values.get("windowsize"),
        )


def encode_data_header(block: int) -> bytes:
    """The 4-byte header of a DATA packet for wire block number ``block``.

    :raises WireError: ``block`` is outside 0..65535.
    """
    try:
        return _HEADER.pack(_DATA, block)  # the pack checks the range
    except struct.error:
        raise BadPacket(f"block {block} outside 0..65535") from None


def from_wire(data: bytes) -> Packet:
    """Decode one TFTP packet.

    :raises Truncated: the packet ends inside a field or a string lacks its NUL.
    :raises BadPacket: unknown opcode, unknown or refused mode, or trailing bytes.
    :raises BadOption: an option name without a value.
    """
    if len(data) < 2:
        raise Truncated("no opcode", 0)
    opcode = (data[0] << 8) | data[1]
    if opcode == _ACK:
        if len(data) != 4:
            raise _length_error(data, 4)
        return ACK((data[2] << 8) | data[3])
    if opcode == Opcode.RRQ or opcode == Opcode.WRQ:
        filename, mode, options = _decode_request(data)
        request = RRQ if opcode == Opcode.RRQ else WRQ
        return request(filename, mode, options)
    if opcode == Opcode.DATA or opcode == Opcode.ERROR:
        if len(data) < 4:
            raise Truncated(f"packet of {len(data)} bytes, wanted at least 4", len(data))
        number = (data[2] << 8) | data[3]
        if opcode == Opcode.DATA:
            return DATA(number, data[4:])
        # RFC 1350 ends the message with a NUL; some clients omit it, so accept both.
        message, _, tail = data[4:].partition(b"\0")
        if tail:
            raise BadPacket("bytes after the error message", len(data) - len(tail))
        return ERROR(number, _decode(message))
    if opcode == Opcode.OACK:
        return OACK(_decode_options(data))
    raise BadPacket(f"unknown opcode {opcode}", 0)


def _length_error(data: bytes, expected: int) -> WireError:
    if len(data) < expected:
        return Truncated(f"packet of {len(data)} bytes, wanted {expected}", len(data))
    return BadPacket(f"packet of {len(data)} bytes, wanted {expected}", expected)


def _strings(data: bytes, start: int) -> list[bytes]:
    """Split NUL-terminated strings from ``start`` to the end of ``data``."""
    if len(data) > start and data[-1] != 0:
        raise Truncated("string without its terminating NUL", len(data))
    return data[start:-1].split(b"\0") if len(data) > start else []


def _decode_request(data: bytes) -> tuple[str, Mode, Options]:
    strings = _strings(data, 2)
    if len(strings) < 2:
        raise Truncated("request without file name and mode", len(data))
    mode_name = _decode(strings[1]).lower()
    mode = _MODES.get(mode_name)
    if mode is None:
        raise BadPacket(f"unsupported transfer mode {mode_name!r}", 2 + len(strings[0]) + 1)
    return _decode(strings[0]), mode, _pair_options(strings[2:], len(data))


def _decode_options(data: bytes) -> Options:
    return _pair_options(_strings(data, 2), len(data))


def _pair_options(strings: list[bytes], end: int) -> Options:
    if len(strings) % 2:
        raise BadOption(f"option {_decode(strings[-1])!r} has no value", end)
    names = strings[0::2]
    values = strings[1::2]
    return tuple((_decode(n).lower(), _decode(v)) for n, v in zip(names, values, strict=True))


def _decode(raw: bytes) -> str:
    return raw.decode("utf-8", "surrogateescape")


def _encode_request(opcode: Opcode, filename: str, mode: Mode, options: Options) -> bytes:
    w = Writer()
    w.u16(opcode)
    _put_string(w, filename)
    _put_string(w, _MODE_NAMES[mode])
    _put_options(w, options)
    return w.getvalue()


def _put_options(w: Writer, options: Options) -> None:
    for name, value in options:
        _put_string(w, name)
        _put_string(w, value)


def _put_string(w: Writer, value: str) -> None:
    try:
        raw = value.encode("utf-8", "surrogateescape")
    except UnicodeEncodeError as exc:
        raise BadPacket(f"string {value!r} cannot be encoded") from exc
    if b"\0" in raw:
        raise BadPacket(f"string {value!r} holds a NUL")
    w.bytes(raw)
    w.u8(0)


def _check_u16(value: int, what: str) -> None:
    if not 0 <= value <= 0xFFFF:
        raise BadPacket(f"{what} {value} outside 0..65535")


def _parse_number(raw: str) -> int | None:
    """A decimal option value, or ``None`` (RFC 2347 values are ASCII digits only)."""
    if not raw or len(raw) > _MAX_DIGITS or not (raw.isascii() and raw.isdigit()):
        return None
    return int(raw)
