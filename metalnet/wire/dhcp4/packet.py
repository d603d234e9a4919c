"""The DHCPv4/BOOTP message (RFC 951, RFC 2131): :class:`Packet` and :func:`reply_for`.

Choices
-------
* Addresses in the fixed header (``ciaddr``, ``yiaddr``, ``siaddr``,
  ``giaddr``) are plain ``int`` (network order value, as
  ``int(IPv4Address(...))``): building four ``IPv4Address`` objects per packet
  costs about 2 µs, a sixth of the hot-path budget. Convert with
  ``IPv4Address(packet.giaddr)`` where needed; :func:`reply_for` accepts
  either. Option accessors, which run on demand, return ``IPv4Address``.
* ``sname`` and ``file`` hold the field with its trailing NULs removed, which
  re-encodes to the same bytes.
* BOOTP: a message of 236..300 bytes whose vendor area does not start with
  the magic cookie but with zeros (or is shorter than 4 bytes) is taken as a
  plain BOOTP message with no options (RFC 951's vendor area is 64 bytes,
  zero when unused). Any other message without the cookie is refused:
  :class:`~metalnet.wire.errors.Truncated` below 240 bytes,
  :class:`~metalnet.wire.errors.BadMagic` otherwise. Encoding always writes the
  cookie (RFC 1497 vendor extensions, which BOOTP clients understand).
* Option overload (52) is decoded as RFC 2131/3396 say (options field, then
  ``file``, then ``sname``; the overloaded field then reads as empty). On
  encode, options that do not fit ``max_size`` flow into whichever of
  ``file``/``sname`` is empty; if they still do not fit, the unsplit,
  oversize message is returned (a large reply beats none on most links).
* Option contents are validated lazily; see :mod:`metalnet.wire.dhcp4.options`.
"""

from __future__ import annotations

import struct
import uuid
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from ipaddress import IPv4Address
from typing import Final

from metalnet.wire.dhcp4.consts import (
    BOOTP_MIN_LEN,
    FLAG_BROADCAST,
    HEADER_LEN,
    HTYPE_ETHERNET,
    IP_UDP_OVERHEAD,
    MAGIC_COOKIE,
    MIN_MAX_MESSAGE_SIZE,
    OP_BOOTREPLY,
    OP_BOOTREQUEST,
    ClientArch,
    MessageType,
    OptionCode,
)
from metalnet.wire.dhcp4.options import (
    ClientNdi,
    Options,
    RelayAgentInfo,
    SubOptions,
    decode_area,
    decode_client_arch,
    decode_client_ndi,
    decode_client_uuid,
    decode_ip,
    decode_ips,
    decode_message_type,
    decode_parameter_request_list,
    decode_relay_agent_info,
    decode_suboptions,
    decode_text,
    decode_u16,
    decode_u32,
    decode_user_class,
    encode_ip,
    option_instances,
    uuid_to_dmi,
)
from metalnet.wire.errors import BadMagic, BadOption, BadPacket, Truncated

# op htype hlen hops | xid | secs flags | ciaddr yiaddr siaddr giaddr | chaddr sname file
_HEADER: Final = struct.Struct("!BBBBIHHIIII16s64s128s")
_SNAME_START: Final = 44
_FILE_START: Final = 108
_OPTIONS_START: Final = HEADER_LEN + 4
_EMPTY_OPTIONS: Final = Options()
_TYPE_LENGTH: Final = struct.Struct("BB").pack
# Option codes as plain ints: reading an IntEnum member costs ~100 ns on 3.11.
_BOOTFILE_NAME: Final = int(OptionCode.BOOTFILE_NAME)
_BROADCAST_ADDRESS: Final = int(OptionCode.BROADCAST_ADDRESS)
_CLIENT_ARCH: Final = int(OptionCode.CLIENT_ARCH)
_CLIENT_ID: Final = int(OptionCode.CLIENT_ID)
_CLIENT_NDI: Final = int(OptionCode.CLIENT_NDI)
_CLIENT_UUID: Final = int(OptionCode.CLIENT_UUID)
_DNS_SERVER: Final = int(OptionCode.DNS_SERVER)
_DOMAIN_NAME: Final = int(OptionCode.DOMAIN_NAME)
_HOSTNAME: Final = int(OptionCode.HOSTNAME)
_IPXE_ENCAP: Final = int(OptionCode.IPXE_ENCAP)
_LEASE_TIME: Final = int(OptionCode.LEASE_TIME)
_MAX_MESSAGE_SIZE: Final = int(OptionCode.MAX_MESSAGE_SIZE)
_MESSAGE_TYPE: Final = int(OptionCode.MESSAGE_TYPE)
_OVERLOAD: Final = int(OptionCode.OVERLOAD)
_PARAMETER_REQUEST_LIST: Final = int(OptionCode.PARAMETER_REQUEST_LIST)
_REBINDING_TIME: Final = int(OptionCode.REBINDING_TIME)
_RELAY_AGENT_INFO: Final = int(OptionCode.RELAY_AGENT_INFO)
_RENEWAL_TIME: Final = int(OptionCode.RENEWAL_TIME)
_REQUESTED_IP: Final = int(OptionCode.REQUESTED_IP)
_ROUTER: Final = int(OptionCode.ROUTER)
_SERVER_ID: Final = int(OptionCode.SERVER_ID)
_SUBNET_MASK: Final = int(OptionCode.SUBNET_MASK)
_TFTP_SERVERS: Final = int(OptionCode.TFTP_SERVERS)
_TFTP_SERVER_NAME: Final = int(OptionCode.TFTP_SERVER_NAME)
_USER_CLASS: Final = int(OptionCode.USER_CLASS)
_VENDOR_CLASS: Final = int(OptionCode.VENDOR_CLASS)
_VENDOR_SPECIFIC: Final = int(OptionCode.VENDOR_SPECIFIC)
_ACK: Final = int(MessageType.ACK)
_BYTES: Final = tuple(bytes((i,)) for i in range(256))
_OVERLOAD_FILE: Final = 1
_OVERLOAD_SNAME: Final = 2


# Not slots=True: without slots, _make() below can fill a frozen instance with
# one __dict__ assignment, about 3x faster than the generated __init__.
@dataclass(frozen=True)
class Packet:
    """One DHCPv4 or BOOTP message.

    Field names follow RFC 2131 figure 1. Addresses are ints (see the module
    docstring); ``chaddr``, ``sname`` and ``file`` are raw bytes without their
    NUL padding; ``options`` maps code -> raw value (see :class:`Options`).
    Typed accessors (``message_type``, ``requested_ip``, ...) decode one
    option on demand, return None when it is absent and raise only
    :class:`~metalnet.wire.errors.BadOption` when its content is invalid.
    """

    op: int = OP_BOOTREQUEST
    htype: int = HTYPE_ETHERNET
    hlen: int = 6
    hops: int = 0
    xid: int = 0
    secs: int = 0
    flags: int = 0
    ciaddr: int = 0
    yiaddr: int = 0
    siaddr: int = 0
    giaddr: int = 0
    chaddr: bytes = b""
    sname: bytes = b""
    file: bytes = b""
    options: Options = _EMPTY_OPTIONS

    # ------------------------------------------------------------------ codec

    @classmethod
    def from_wire(cls, data: bytes) -> Packet:
        """Decode one message (the UDP payload).

        A total function: any input gives a :class:`Packet` or one of the
        errors below, nothing else. Option contents are not checked here.

        :param data: the UDP payload.
        :raises Truncated: shorter than the 236-byte header; or no cookie and
            shorter than 240 bytes; or an option (or its length byte) runs past
            the end of its area.
        :raises BadMagic: longer than BOOTP's 300 bytes (or vendor area not
            zero) and the magic cookie is wrong.
        :raises BadOption: option 52 (overload) is malformed.
        """
        if type(data) is not bytes:
            data = bytes(data)
        size = len(data)
        if size < HEADER_LEN:
            raise Truncated(f"{size} bytes, shorter than the {HEADER_LEN}-byte header", size)
        (op, htype, hlen, hops, xid, secs, flags, ciaddr, yiaddr, siaddr, giaddr, chaddr, sname,
         file) = _HEADER.unpack_from(data)  # fmt: skip
        items: dict[int, bytes] = {}
        vendor = data[HEADER_LEN:_OPTIONS_START]
        if vendor == MAGIC_COOKIE:
            decode_area(data, _OPTIONS_START, size, items)
            overload = items.pop(_OVERLOAD, None)
            if overload is not None:
                if len(overload) != 1 or not 1 <= overload[0] <= 3:
                    raise BadOption(f"option 52: bad overload value {overload.hex()}")
                # RFC 3396 section 7: options field, then file, then sname.
                if overload[0] & _OVERLOAD_FILE:
                    decode_area(data, _FILE_START, HEADER_LEN, items)
                    file = b""
                if overload[0] & _OVERLOAD_SNAME:
                    decode_area(data, _SNAME_START, _FILE_START, items)
                    sname = b""
                # Option 52 is only valid in the options field (RFC 2131 4.1).
                items.pop(_OVERLOAD, None)
        elif size <= BOOTP_MIN_LEN and not any(vendor):
            pass  # plain BOOTP (RFC 951): no cookie, zero vendor area, no options
        elif size < _OPTIONS_START:
            raise Truncated(f"{size} bytes, no room for the magic cookie", HEADER_LEN)
        else:
            raise BadMagic(f"magic cookie is {vendor.hex()}", HEADER_LEN)
        # _make skips the frozen __init__; a subclass keeps its own.
        build: Callable[..., Packet] = _make if cls is Packet else cls
        return build(
            op, htype, hlen, hops, xid, secs, flags, ciaddr, yiaddr, siaddr, giaddr, chaddr,
            sname.rstrip(b"\x00"), file.rstrip(b"\x00"), Options._adopt(items),
        )  # fmt: skip

    def to_wire(self, *, min_size: int = BOOTP_MIN_LEN, max_size: int | None = None) -> bytes:
        """Encode the message, cookie and end option included.

        :param min_size: pad with zeros up to this many bytes; 300 by default,
            as old BOOTP relays drop anything shorter.
        :param max_size: the client's maximum message size (option 57, counting
            IP and UDP headers as ISC dhcpd does); None or anything under 576
            means 576. Options beyond it overflow into an empty ``file`` and/or
            ``sname`` with option 52.
        :raises BadPacket: a header field is out of range or too long.
        :raises BadOption: an option code is 0 or 255.
        """
        sname, file = self.sname, self.file
        if len(self.chaddr) > 16 or len(sname) > 64 or len(file) > 128:
            raise BadPacket("chaddr, sname or file is longer than its field")
        parts = [self._header(sname, file), MAGIC_COOKIE]
        # The end option included.
        size = _OPTIONS_START + 1 + _encode_options(self.options._items, parts.append)
        parts.append(b"\xff")
        limit = max(MIN_MAX_MESSAGE_SIZE, max_size or 0) - IP_UDP_OVERHEAD
        if size > limit and (not file or not sname):
            overloaded = self._overloaded(limit)
            if overloaded is not None:
                parts = [bytes(overloaded)]
                size = len(overloaded)
        if size < min_size:
            parts.append(bytes(min_size - size))
        return b"".join(parts)

    def _header(self, sname: bytes, file: bytes) -> bytes:
        return _pack_header(
            self.op, self.htype, self.hlen, self.hops, self.xid, self.secs, self.flags,
            self.ciaddr, self.yiaddr, self.siaddr, self.giaddr, self.chaddr, sname, file,
        )  # fmt: skip

    def _overloaded(self, limit: int) -> bytearray | None:
        """Encode with options flowing into empty ``file``/``sname`` (RFC 2131 4.1).

        Areas fill in decode order (options, file, sname) so concatenation
        rebuilds every value. An option of at most 255 bytes is never cut (many
        clients do not join pieces); a longer one, already needing RFC 3396,
        is cut wherever space ends. Returns None if it cannot fit.
        """
        # Each area: capacity left for TLVs (its end option reserved) and its bytes.
        # The options field also reserves 3 bytes for option 52.
        caps = [limit - _OPTIONS_START - 3 - 1]
        flags = [0]
        if not self.file:
            caps.append(128 - 1)
            flags.append(_OVERLOAD_FILE)
        if not self.sname:
            caps.append(64 - 1)
            flags.append(_OVERLOAD_SNAME)
        areas = [bytearray() for _ in caps]
        idx = 0
        for code, value in self.options.items():
            if code == _OVERLOAD:
                continue
            if len(value) <= 255:
                while idx < len(areas) and caps[idx] - len(areas[idx]) < 2 + len(value):
                    idx += 1
                if idx == len(areas):
                    return None
                areas[idx] += bytes((code, len(value)))
                areas[idx] += value
                continue
            rest = value
            while rest:
                room = caps[idx] - len(areas[idx]) - 2
                if room < 1:
                    idx += 1
                    if idx == len(areas):
                        return None
                    continue
                take = min(255, room, len(rest))
                areas[idx] += bytes((code, take))
                areas[idx] += rest[:take]
                rest = rest[take:]
        overload = 0
        file, sname = self.file, self.sname
        for flag, area in zip(flags[1:], areas[1:], strict=True):
            if area:
                overload |= flag
                area.append(255)
                if flag == _OVERLOAD_FILE:
                    file = bytes(area)
                else:
                    sname = bytes(area)
        if not overload:
            return None
        first = areas[0]
        marker = bytes((_OVERLOAD, 1, overload))
        # Keep option 53 first when it leads: some clients look only there.
        at = 3 if first[:2] == b"\x35\x01" else 0
        first[at:at] = marker
        body = bytearray(self._header(sname, file))
        body += MAGIC_COOKIE
        body += first
        body.append(255)
        return body

    # ------------------------------------------------------------------ header helpers

    @property
    def broadcast(self) -> bool:
        """The BROADCAST flag (RFC 2131 4.1): the client cannot take unicast yet."""
        return bool(self.flags & FLAG_BROADCAST)

    @property
    def mac(self) -> str | None:
        """``aa:bb:cc:dd:ee:ff`` for Ethernet (htype 1, hlen 6), else None."""
        if self.htype != HTYPE_ETHERNET or self.hlen != 6 or len(self.chaddr) < 6:
            return None
        return self.chaddr[:6].hex(":")

    @property
    def is_bootp(self) -> bool:
        """True when there is no option 53: a BOOTP, not DHCP, message."""
        return _MESSAGE_TYPE not in self.options

    # ------------------------------------------------------------------ option accessors

    @property
    def message_type(self) -> MessageType | None:
        """Option 53. :raises BadOption: malformed."""
        value = self.options._items.get(_MESSAGE_TYPE)
        return None if value is None else decode_message_type(value)

    @property
    def requested_ip(self) -> IPv4Address | None:
        """Option 50. :raises BadOption: malformed."""
        return self._ip(_REQUESTED_IP)

    @property
    def server_id(self) -> IPv4Address | None:
        """Option 54. :raises BadOption: malformed."""
        return self._ip(_SERVER_ID)

    @property
    def subnet_mask(self) -> IPv4Address | None:
        """Option 1. :raises BadOption: malformed."""
        return self._ip(_SUBNET_MASK)

    @property
    def broadcast_address(self) -> IPv4Address | None:
        """Option 28. :raises BadOption: malformed."""
        return self._ip(_BROADCAST_ADDRESS)

    @property
    def routers(self) -> tuple[IPv4Address, ...] | None:
        """Option 3. :raises BadOption: malformed."""
        return self._ips(_ROUTER)

    @property
    def dns_servers(self) -> tuple[IPv4Address, ...] | None:
        """Option 6. :raises BadOption: malformed."""
        return self._ips(_DNS_SERVER)

    @property
    def tftp_servers(self) -> tuple[IPv4Address, ...] | None:
        """Option 150 (Cisco TFTP server addresses). :raises BadOption: malformed."""
        return self._ips(_TFTP_SERVERS)

    @property
    def lease_time(self) -> int | None:
        """Option 51, seconds. :raises BadOption: malformed."""
        return self._u32(_LEASE_TIME)

    @property
    def renewal_time(self) -> int | None:
        """Option 58 (T1), seconds. :raises BadOption: malformed."""
        return self._u32(_RENEWAL_TIME)

    @property
    def rebinding_time(self) -> int | None:
        """Option 59 (T2), seconds. :raises BadOption: malformed."""
        return self._u32(_REBINDING_TIME)

    @property
    def max_message_size(self) -> int | None:
        """Option 57 as sent (may be below the legal 576; ``to_wire`` clamps).

        :raises BadOption: malformed.
        """
        value = self.options._items.get(_MAX_MESSAGE_SIZE)
        return None if value is None else decode_u16(value, _MAX_MESSAGE_SIZE)

    @property
    def hostname(self) -> str | None:
        """Option 12. :raises BadOption: not UTF-8."""
        return self._text(_HOSTNAME)

    @property
    def domain_name(self) -> str | None:
        """Option 15. :raises BadOption: not UTF-8."""
        return self._text(_DOMAIN_NAME)

    @property
    def tftp_server_name(self) -> str | None:
        """Option 66. :raises BadOption: not UTF-8."""
        return self._text(_TFTP_SERVER_NAME)

    @property
    def bootfile_name(self) -> str | None:
        """Option 67. :raises BadOption: not UTF-8."""
        return self._text(_BOOTFILE_NAME)

    @property
    def parameter_request_list(self) -> tuple[int, ...] | None:
        """Option 55, codes in the client's order. Never raises."""
        value = self.options._items.get(_PARAMETER_REQUEST_LIST)
        return None if value is None else decode_parameter_request_list(value)

    @property
    def vendor_class(self) -> bytes | None:
        """Option 60, raw (e.g. ``b"PXEClient:Arch:00007:UNDI:003000"``). Never raises."""
        return self.options._items.get(_VENDOR_CLASS)

    @property
    def client_id(self) -> bytes | None:
        """Option 61, raw (iPXE: ``01`` + MAC). Never raises."""
        return self.options._items.get(_CLIENT_ID)

    @property
    def user_class(self) -> tuple[bytes, ...] | None:
        """Option 77, RFC 3004 list or iPXE's bare bytes. Never raises."""
        value = self.options._items.get(_USER_CLASS)
        return None if value is None else decode_user_class(value)

    @property
    def vendor_options(self) -> SubOptions | None:
        """Option 43 read as PXE sub-options (pad and end honoured).

        :raises BadOption: malformed.
        """
        value = self.options._items.get(_VENDOR_SPECIFIC)
        if value is None:
            return None
        return decode_suboptions(value, _VENDOR_SPECIFIC, pad_end=True)

    @property
    def relay_agent_info(self) -> RelayAgentInfo | None:
        """Option 82 with its sub-options. :raises BadOption: malformed."""
        value = self.options._items.get(_RELAY_AGENT_INFO)
        return None if value is None else decode_relay_agent_info(value)

    @property
    def client_arches(self) -> tuple[ClientArch, ...] | None:
        """Option 93, every architecture listed. :raises BadOption: malformed."""
        value = self.options._items.get(_CLIENT_ARCH)
        return None if value is None else decode_client_arch(value)

    @property
    def client_arch(self) -> ClientArch | None:
        """Option 93's first (preferred) architecture. :raises BadOption: malformed."""
        value = self.options._items.get(_CLIENT_ARCH)
        return None if value is None else decode_client_arch(value)[0]

    @property
    def client_ndi(self) -> ClientNdi | None:
        """Option 94 (UNDI version). :raises BadOption: malformed."""
        value = self.options._items.get(_CLIENT_NDI)
        return None if value is None else decode_client_ndi(value)

    @property
    def client_uuid(self) -> uuid.UUID | None:
        """Option 97 in wire order; see :attr:`client_uuid_dmi`. :raises BadOption: malformed."""
        value = self.options._items.get(_CLIENT_UUID)
        return None if value is None else decode_client_uuid(value)

    @property
    def client_uuid_dmi(self) -> str | None:
        """Option 97 as the DMI ``product_uuid`` string. :raises BadOption: malformed."""
        value = self.client_uuid
        return None if value is None else uuid_to_dmi(value)

    @property
    def ipxe_options(self) -> SubOptions | None:
        """Option 175, iPXE's encapsulated settings. :raises BadOption: malformed."""
        value = self.options._items.get(_IPXE_ENCAP)
        return None if value is None else decode_suboptions(value, _IPXE_ENCAP)

    def _ip(self, code: int) -> IPv4Address | None:
        value = self.options._items.get(code)
        return None if value is None else decode_ip(value, code)

    def _ips(self, code: int) -> tuple[IPv4Address, ...] | None:
        value = self.options._items.get(code)
        return None if value is None else decode_ips(value, code)

    def _u32(self, code: int) -> int | None:
        value = self.options._items.get(code)
        return None if value is None else decode_u32(value, code)

    def _text(self, code: int) -> str | None:
        value = self.options._items.get(code)
        return None if value is None else decode_text(value, code)


def _pack_header(*fields: int | bytes) -> bytes:
    """The fixed header, op to file. :raises BadPacket: a field is out of range."""
    try:
        return _HEADER.pack(*fields)
    except struct.error as exc:
        raise BadPacket(f"header field out of range: {exc}") from None


def _encode_options(items: Mapping[int, bytes], append: Callable[[bytes], object]) -> int:
    """Append each option as type, length and value; return the bytes appended.

    A value over 255 bytes is split (RFC 3396) and option 52 left out, the
    encoder's own; codes 0 and 255 raise :class:`BadOption`.
    """
    size = 0
    for code, value in items.items():
        length = len(value)
        if length > 255 or not 0 < code < 255 or code == _OVERLOAD:
            # Rare: split a long value, drop 52, refuse 0/255.
            for piece_code, piece in option_instances({code: value}):
                append(_TYPE_LENGTH(piece_code, len(piece)))
                append(piece)
                size += 2 + len(piece)
            continue
        append(_TYPE_LENGTH(code, length))
        append(value)
        size += 2 + length
    return size


def _make(
    op: int,
    htype: int,
    hlen: int,
    hops: int,
    xid: int,
    secs: int,
    flags: int,
    ciaddr: int,
    yiaddr: int,
    siaddr: int,
    giaddr: int,
    chaddr: bytes,
    sname: bytes,
    file: bytes,
    options: Options,
) -> Packet:
    """Same as ``Packet(...)`` with every field given, minus the frozen ``__init__`` cost."""
    packet = _new_object(Packet)
    _set_attribute(
        packet,
        "__dict__",
        {
            "op": op,
            "htype": htype,
            "hlen": hlen,
            "hops": hops,
            "xid": xid,
            "secs": secs,
            "flags": flags,
            "ciaddr": ciaddr,
            "yiaddr": yiaddr,
            "siaddr": siaddr,
            "giaddr": giaddr,
            "chaddr": chaddr,
            "sname": sname,
            "file": file,
            "options": options,
        },
    )
    return packet


_new_object: Final = object.__new__
_set_attribute: Final = object.__setattr__


def reply_for(
    request: Packet,
    message_type: MessageType,
    *,
    yiaddr: int | IPv4Address = 0,
    siaddr: int | IPv4Address = 0,
    server_id: int | IPv4Address | None = None,
    options: Mapping[int, bytes] | Iterable[tuple[int, bytes]] = (),
    sname: bytes = b"",
    file: bytes = b"",
    echo_client_id: bool = True,
) -> Packet:
    """The reply skeleton for ``request`` (RFC 2131 table 3).

    Copies xid, flags, giaddr, htype, hlen and chaddr; op is BOOTREPLY, hops
    and secs 0; ciaddr is copied for an ACK only. Options are 53, then 54 if
    ``server_id`` is given, then ``options`` in order (their own 53 and 52
    dropped), then the request's option 61 unless ``options`` has one or
    ``echo_client_id`` is false (RFC 6842), then the request's option 82
    byte for byte (RFC 3046 2.2: always echoed, last); an 82 in ``options``
    is dropped, since only the relay's own may go back.

    :param options: typically :func:`~metalnet.wire.dhcp4.options.select_reply_options`.
    :raises BadOption: ``message_type`` or ``server_id`` is out of range.
    """
    items = _reply_items(message_type, server_id, options)
    request_options = request.options._items
    if echo_client_id and _CLIENT_ID not in items:
        client_id = request_options.get(_CLIENT_ID)
        if client_id is not None:
            items[_CLIENT_ID] = client_id
    items.pop(_RELAY_AGENT_INFO, None)
    relay = request_options.get(_RELAY_AGENT_INFO)
    if relay is not None:
        items[_RELAY_AGENT_INFO] = relay
    return _make(
        OP_BOOTREPLY,
        request.htype,
        request.hlen,
        0,
        request.xid,
        0,
        request.flags,
        request.ciaddr if message_type == _ACK else 0,
        int(yiaddr),
        int(siaddr),
        request.giaddr,
        request.chaddr,
        sname,
        file,
        Options._adopt(items),
    )


def _reply_items(
    message_type: int,
    server_id: int | IPv4Address | None,
    options: Mapping[int, bytes] | Iterable[tuple[int, bytes]],
) -> dict[int, bytes]:
    """A reply's own options in order: 53, 54, then ``options`` without 53 and 52."""
    if not 0 <= message_type <= 255:
        raise BadOption(f"message type {message_type} does not fit in a byte")
    items: dict[int, bytes] = {_MESSAGE_TYPE: _BYTES[message_type]}
    if server_id is not None:
        items[_SERVER_ID] = encode_ip(server_id)
    if isinstance(options, Options):
        pairs: Iterable[tuple[int, bytes]] = options._items.items()
    elif isinstance(options, (dict, Mapping)):  # dict first: the fast check
        pairs = options.items()
    else:
        pairs = options
    for code, value in pairs:
        if code != _MESSAGE_TYPE and code != _OVERLOAD:
            items[code] = value
    return items


_REPLY_LIMIT: Final = MIN_MAX_MESSAGE_SIZE - IP_UDP_OVERHEAD


class ReplyTemplate:
    """The part of a reply that does not depend on the request, encoded once.

    Thousands of clients get the same options (a subnet's, a boot option set, one
    parameter request list). :meth:`render` gives the same bytes as
    ``reply_for(request, ...).to_wire()``, in a third of the time: it packs the
    header and appends the request's option 61 and 82 to the options encoded
    here. A reply over 576 bytes is left to :func:`reply_for`, whose encoder
    overloads ``file`` and ``sname``.

    The arguments are those of :func:`reply_for`, except the request and ``yiaddr``.
    """

    __slots__ = (
        "_copies_ciaddr",
        "_echo_client_id",
        "_encoded",
        "_file",
        "_message_type",
        "_options",
        "_server_id",
        "_siaddr",
        "_sname",
    )

    def __init__(
        self,
        message_type: MessageType,
        *,
        siaddr: int = 0,
        server_id: int | None = None,
        options: Mapping[int, bytes] = _EMPTY_OPTIONS,
        sname: bytes = b"",
        file: bytes = b"",
        echo_client_id: bool = True,
    ) -> None:
        items = _reply_items(message_type, server_id, options)
        items.pop(_RELAY_AGENT_INFO, None)  # only the relay's own goes back
        if len(sname) > 64 or len(file) > 128:
            raise BadPacket("sname or file is longer than its field")
        parts: list[bytes] = []
        _encode_options(items, parts.append)
        self._encoded = b"".join(parts)
        self._message_type = message_type
        self._siaddr = int(siaddr)
        self._server_id = server_id
        self._options = options
        self._sname = sname
        self._file = file
        self._echo_client_id = echo_client_id and _CLIENT_ID not in items
        self._copies_ciaddr = message_type == _ACK

    def render(self, request: Packet, yiaddr: int) -> bytes:
        """The reply to ``request`` offering or binding ``yiaddr``, encoded.

        :raises BadPacket: a header field of ``request`` is out of range.
        """
        theirs = request.options._items
        chaddr = request.chaddr
        if len(chaddr) > 16:
            raise BadPacket("chaddr is longer than its field")
        header = _pack_header(
            OP_BOOTREPLY, request.htype, request.hlen, 0, request.xid, 0, request.flags,
            request.ciaddr if self._copies_ciaddr else 0, yiaddr, self._siaddr,
            request.giaddr, chaddr, self._sname, self._file,
        )  # fmt: skip
        parts = [header, MAGIC_COOKIE, self._encoded]
        size = _OPTIONS_START + 1 + len(self._encoded)
        if self._echo_client_id and (client_id := theirs.get(_CLIENT_ID)) is not None:
            size += _encode_options({_CLIENT_ID: client_id}, parts.append)
        if (relay := theirs.get(_RELAY_AGENT_INFO)) is not None:
            size += _encode_options({_RELAY_AGENT_INFO: relay}, parts.append)
        if size > _REPLY_LIMIT:
            return reply_for(
                request, self._message_type, yiaddr=yiaddr, siaddr=self._siaddr,
                server_id=self._server_id, options=self._options, sname=self._sname,
                file=self._file, echo_client_id=self._echo_client_id,
            ).to_wire()  # fmt: skip
        parts.append(b"\xff")
        if size < BOOTP_MIN_LEN:
            parts.append(bytes(BOOTP_MIN_LEN - size))
        return b"".join(parts)


__all__ = ["OP_BOOTREPLY", "OP_BOOTREQUEST", "Packet", "ReplyTemplate", "reply_for"]
