"""The TFTP codec: layouts, options and their bounds, and totality over any bytes."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from metalnet.wire.errors import BadOption, BadPacket, Truncated, WireError
from metalnet.wire.tftp.packet import (
    ACK,
    BLKSIZE_MAX,
    DATA,
    ERROR,
    OACK,
    RRQ,
    WRQ,
    ErrorCode,
    Mode,
    RequestOptions,
    encode_data_header,
    from_wire,
)

OVMF_RRQ = b"\x00\x01bootx64.efi\x00octet\x00tsize\x000\x00blksize\x001468\x00windowsize\x004\x00"


def test_rrq_as_ovmf_sends_it() -> None:
    packet = from_wire(OVMF_RRQ)
    assert packet == RRQ(
        "bootx64.efi",
        Mode.OCTET,
        (("tsize", "0"), ("blksize", "1468"), ("windowsize", "4")),
    )
    assert packet.to_wire() == OVMF_RRQ


def test_option_names_and_mode_are_case_insensitive() -> None:
    packet = from_wire(b"\x00\x01f\x00OcTeT\x00BLKSIZE\x001024\x00TSize\x000\x00")
    assert packet == RRQ("f", Mode.OCTET, (("blksize", "1024"), ("tsize", "0")))
    assert from_wire(b"\x00\x01f\x00NETASCII\x00") == RRQ("f", Mode.NETASCII)


@pytest.mark.parametrize(
    "packet",
    [
        RRQ("pxelinux.0"),
        RRQ("a/b", Mode.NETASCII, (("blksize", "512"), ("x-vendor", ""))),
        WRQ("upload.bin"),
        DATA(1, b"hello"),
        DATA(0, b""),
        DATA(65535, bytes(range(256)) * 4),
        ACK(0),
        ACK(65535),
        ERROR(ErrorCode.FILE_NOT_FOUND, "File not found"),
        ERROR(99, ""),
        OACK((("tsize", "12345"), ("blksize", "1468"))),
        OACK(()),
        RRQ("caf\udcff"),  # an undecodable byte survives via surrogateescape
    ],
)
def test_round_trip(packet: RRQ | WRQ | DATA | ACK | ERROR | OACK) -> None:
    assert from_wire(packet.to_wire()) == packet


def test_layouts() -> None:
    assert ACK(258).to_wire() == b"\x00\x04\x01\x02"
    assert DATA(1, b"x").to_wire() == b"\x00\x03\x00\x01x"
    assert encode_data_header(65535) == b"\x00\x03\xff\xff"
    assert ERROR(2, "no").to_wire() == b"\x00\x05\x00\x02no\x00"
    assert OACK((("tsize", "7"),)).to_wire() == b"\x00\x06tsize\x007\x00"


def test_error_without_terminating_nul_is_accepted() -> None:
    assert from_wire(b"\x00\x05\x00\x08size probe") == ERROR(8, "size probe")


@pytest.mark.parametrize(
    ("wire", "error"),
    [
        (b"", Truncated),
        (b"\x00", Truncated),
        (b"\x00\x01file", Truncated),  # no NUL after the file name
        (b"\x00\x01file\x00", Truncated),  # no mode
        (b"\x00\x01file\x00octet", Truncated),
        (b"\x00\x01file\x00mail\x00", BadPacket),  # RFC 1350's mail mode is refused
        (b"\x00\x01file\x00binary\x00", BadPacket),
        (b"\x00\x01file\x00octet\x00blksize\x00", BadOption),
        (b"\x00\x03\x00", Truncated),
        (b"\x00\x04\x00", Truncated),
        (b"\x00\x04\x00\x01\x00", BadPacket),
        (b"\x00\x05\x00\x01msg\x00junk", BadPacket),
        (b"\x00\x06tsize\x00", BadOption),
        (b"\x00\x07", BadPacket),
        (b"\xff\xff\x00\x00", BadPacket),
    ],
)
def test_malformed(wire: bytes, error: type[WireError]) -> None:
    with pytest.raises(error):
        from_wire(wire)


@pytest.mark.parametrize(
    "packet",
    [RRQ("a\0b"), ERROR(0, "x\0y"), OACK((("a", "b\0"),)), ACK(65536), ERROR(-1), DATA(70000, b"")],
)
def test_unencodable(packet: RRQ | ERROR | OACK | ACK | DATA) -> None:
    with pytest.raises(WireError):
        packet.to_wire()


@pytest.mark.parametrize(
    ("options", "expected"),
    [
        ((), RequestOptions()),
        ((("blksize", "1468"), ("tsize", "0")), RequestOptions(blksize=1468, tsize=0)),
        ((("blksize", "8"),), RequestOptions(blksize=8)),
        ((("blksize", "7"),), RequestOptions()),  # below RFC 2348's minimum: ignored
        ((("blksize", "65465"),), RequestOptions(blksize=BLKSIZE_MAX)),  # above: lowered
        ((("blksize", "99999999999999999999"),), RequestOptions(blksize=BLKSIZE_MAX)),
        ((("blksize", "9" * 30),), RequestOptions()),  # absurdly long: not a number
        ((("blksize", "1e3"),), RequestOptions()),
        ((("blksize", "-1"),), RequestOptions()),
        ((("blksize", " 512"),), RequestOptions()),
        ((("blksize", "٥١٢"),), RequestOptions()),  # non-ASCII digits are not RFC digits
        ((("timeout", "1"),), RequestOptions(timeout=1)),
        ((("timeout", "255"),), RequestOptions(timeout=255)),
        ((("timeout", "0"),), RequestOptions()),
        ((("timeout", "256"),), RequestOptions()),
        ((("windowsize", "0"),), RequestOptions()),
        ((("windowsize", "16"),), RequestOptions(windowsize=16)),
        ((("windowsize", "70000"),), RequestOptions(windowsize=65535)),
        ((("tsize", "123"),), RequestOptions(tsize=123)),
        ((("blksize", "x"), ("blksize", "1024")), RequestOptions(blksize=1024)),
        ((("blksize", "1024"), ("blksize", "2048")), RequestOptions(blksize=1024)),
        ((("multicast", ""), ("x", "1")), RequestOptions()),
    ],
)
def test_request_options(options: tuple[tuple[str, str], ...], expected: RequestOptions) -> None:
    assert RequestOptions.from_options(options) == expected


@given(st.binary(max_size=600))
def test_any_bytes_decode_or_raise_wire_error(data: bytes) -> None:
    try:
        packet = from_wire(data)
    except WireError:
        return
    RequestOptions.from_options(packet.options if isinstance(packet, RRQ | WRQ | OACK) else ())


_strings = st.text(
    st.characters(blacklist_characters="\0", blacklist_categories=["Cs"]), max_size=20
)


@given(
    st.sampled_from([b"\x00\x01", b"\x00\x02", b"\x00\x06"]),
    st.lists(st.binary(max_size=12), max_size=8),
    st.booleans(),
)
def test_request_shaped_bytes_decode_or_raise_wire_error(
    opcode: bytes, fields: list[bytes], terminated: bool
) -> None:
    data = opcode + b"\0".join(fields) + (b"\0" if terminated else b"")
    try:
        packet = from_wire(data)
    except WireError:
        return
    assert from_wire(packet.to_wire()) == packet


@given(_strings, st.lists(st.tuples(_strings, _strings), max_size=5))
def test_generated_requests_round_trip(name: str, options: list[tuple[str, str]]) -> None:
    lowered = tuple((k.lower(), v) for k, v in options)
    packet = RRQ(name, Mode.OCTET, lowered)
    decoded = from_wire(packet.to_wire())
    assert isinstance(decoded, RRQ)
    assert decoded.filename == name
