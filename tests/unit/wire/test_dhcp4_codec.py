"""Unit tests for metalnet.wire.dhcp4: options, packet framing, replies, PXE classification."""

from __future__ import annotations

import dataclasses
import uuid
from ipaddress import IPv4Address

import pytest

from metalnet.wire.dhcp4 import packet as packet_module
from metalnet.wire.dhcp4.consts import ClientArch, MessageType, OptionCode
from metalnet.wire.dhcp4.options import (
    ALWAYS_SENT,
    Options,
    decode_suboptions,
    decode_user_class,
    dmi_to_uuid,
    encode_client_arch,
    encode_client_uuid,
    encode_ip,
    encode_ips,
    encode_suboptions,
    encode_u16,
    encode_u32,
    encode_user_class,
    select_reply_options,
    uuid_to_dmi,
)
from metalnet.wire.dhcp4.packet import Packet, reply_for
from metalnet.wire.dhcp4.pxe import (
    Firmware,
    classify,
    client_arch,
    is_http_client,
    is_ipxe,
    is_pxe_client,
)
from metalnet.wire.errors import BadMagic, BadOption, BadPacket, Truncated

MAC = bytes.fromhex("525400123456")
COOKIE = bytes((99, 130, 83, 99))


def make(**options: bytes) -> Packet:
    """A DISCOVER from MAC with extra options given as ``o<code>=value``."""
    items = {53: b"\x01", **{int(k[1:]): v for k, v in options.items()}}
    return Packet(xid=0x1234, chaddr=MAC + bytes(10), options=Options(items))


def raw_packet(options_area: bytes, *, sname: bytes = b"", file: bytes = b"") -> bytes:
    header = bytes((1, 1, 6, 0)) + bytes(24) + MAC + bytes(10)
    return header + sname.ljust(64, b"\0") + file.ljust(128, b"\0") + COOKIE + options_area


# ----------------------------------------------------------------- enums


def test_enums_keep_unknown_values() -> None:
    assert MessageType(42).name == "UNKNOWN_42" and MessageType(42) == 42
    assert MessageType(42) is MessageType(42)
    assert OptionCode(224) == 224
    assert ClientArch(0x1234) == 0x1234
    assert ClientArch.EFI_ARM64 == 11
    with pytest.raises(ValueError):
        MessageType(256)


def test_unknown_message_type_round_trips() -> None:
    p = Packet.from_wire(make(o53=b"\x2a").to_wire())
    assert p.message_type == 42 and p.message_type.name == "UNKNOWN_42"


# ----------------------------------------------------------------- framing errors


def test_too_short_is_truncated() -> None:
    with pytest.raises(Truncated):
        Packet.from_wire(bytes(235))


def test_bad_cookie_is_bad_magic() -> None:
    data = bytearray(make().to_wire())
    data[236] = 0x64
    with pytest.raises(BadMagic):
        Packet.from_wire(bytes(data))
    with pytest.raises(BadMagic):  # longer than BOOTP's 300 bytes, no cookie
        Packet.from_wire(bytes(400))


def test_short_non_bootp_vendor_area_is_truncated() -> None:
    with pytest.raises(Truncated):
        Packet.from_wire(bytes(236) + b"\x63\x82")


def test_bootp_sizes_without_cookie_are_accepted() -> None:
    for size in (236, 239, 240, 300):
        assert Packet.from_wire(bytes(size)).is_bootp


def test_option_running_past_end_is_truncated() -> None:
    with pytest.raises(Truncated):
        Packet.from_wire(raw_packet(b"\x35\x01\x01\x0c\x05ab"))
    with pytest.raises(Truncated):  # length byte missing
        Packet.from_wire(raw_packet(b"\x35\x01\x01\x0c"))


def test_missing_end_option_is_tolerated_and_padding_skipped() -> None:
    p = Packet.from_wire(raw_packet(b"\x00\x00\x35\x01\x01\x00\x0c\x02ab"))
    assert dict(p.options) == {53: b"\x01", 12: b"ab"}


def test_bytes_after_end_are_ignored() -> None:
    p = Packet.from_wire(raw_packet(b"\x35\x01\x01\xff\x0c\x40junk"))
    assert dict(p.options) == {53: b"\x01"}


def test_bad_overload_value() -> None:
    for value in (b"\x00", b"\x04", b"\x01\x01", b""):
        area = b"\x35\x01\x01\x34" + bytes((len(value),)) + value + b"\xff"
        with pytest.raises(BadOption):
            Packet.from_wire(raw_packet(area))


def test_overload_truncated_in_file_area() -> None:
    file = b"\x0c\x7fabc"  # runs past the 128-byte file field
    with pytest.raises(Truncated):
        Packet.from_wire(raw_packet(b"\x35\x01\x01\x34\x01\x01\xff", file=file))


def test_overload_sname_only_keeps_file() -> None:
    sname = b"\x42\x04tftp\xff"
    p = Packet.from_wire(raw_packet(b"\x35\x01\x01\x34\x01\x02\xff", sname=sname, file=b"boot"))
    assert p.sname == b"" and p.file == b"boot"
    assert p.tftp_server_name == "tftp"


def test_memoryview_input() -> None:
    data = make().to_wire()
    assert Packet.from_wire(memoryview(data)) == Packet.from_wire(data)  # type: ignore[arg-type]


# ----------------------------------------------------------------- encoding


def test_to_wire_pads_to_min_size() -> None:
    assert len(make().to_wire()) == 300
    assert len(make().to_wire(min_size=0)) == 240 + 3 + 1


def test_unknown_options_round_trip_byte_exact() -> None:
    area = b"\x35\x01\x01\xe0\x05\x00\xff\x01\x02\x03\xfe\x00\x63\x01\x7f\xff"
    data = raw_packet(area).ljust(300, b"\0")
    p = Packet.from_wire(data)
    assert p.options[224] == b"\x00\xff\x01\x02\x03"
    assert p.options[254] == b""
    assert p.to_wire() == data


def test_long_option_split_and_joined() -> None:
    value = bytes(range(256)) * 2 + b"tail"  # 516 bytes
    p = make(o224=value)
    wire = p.to_wire(max_size=1500)
    # Three instances: 255 + 255 + 6 bytes, in a row.
    start = wire.index(b"\xe0\xff")
    assert wire[start + 257 : start + 259] == b"\xe0\xff"
    assert wire[start + 514 : start + 516] == b"\xe0\x06"
    assert Packet.from_wire(wire).options[224] == value


def test_non_adjacent_instances_are_concatenated() -> None:
    p = Packet.from_wire(raw_packet(b"\x35\x01\x01\x0c\x02ab\x01\x04\xff\xff\xff\x00\x0c\x01c\xff"))
    assert p.options[12] == b"abc"
    assert list(p.options) == [53, 12, 1]


def test_to_wire_rejects_bad_fields() -> None:
    with pytest.raises(BadPacket):
        Packet(chaddr=bytes(17)).to_wire()
    with pytest.raises(BadPacket):
        Packet(file=bytes(129)).to_wire()
    with pytest.raises(BadPacket):
        Packet(xid=2**32).to_wire()
    with pytest.raises(BadOption):
        Packet(options=Options({0: b"x"})).to_wire()
    with pytest.raises(BadOption):
        Packet(options=Options({255: b""})).to_wire()


def test_to_wire_drops_caller_option_52() -> None:
    p = make(o52=b"\x03")
    assert OptionCode.OVERLOAD not in Packet.from_wire(p.to_wire()).options


def test_overflow_into_file_and_sname() -> None:
    opts = {53: b"\x02", 54: encode_ip(IPv4Address("198.18.0.1"))}
    for code in range(224, 231):
        opts[code] = bytes([code]) * 60  # 7 x 62 bytes: too much for 548
    p = Packet(op=2, chaddr=MAC, options=Options(opts))
    wire = p.to_wire()
    assert len(wire) <= 576 - 28
    assert wire[240:246] == b"\x35\x01\x02\x34\x01\x03"  # 53 stays first, then 52
    decoded = Packet.from_wire(wire)
    assert decoded == dataclasses.replace(p, chaddr=MAC + bytes(10))


def test_overflow_only_into_the_empty_field() -> None:
    opts = {53: b"\x02", **{c: bytes(60) for c in range(224, 229)}}
    p = Packet(op=2, chaddr=MAC + bytes(10), file=b"ipxe.efi", options=Options(opts))
    wire = p.to_wire()
    assert len(wire) <= 548
    decoded = Packet.from_wire(wire)
    assert decoded == p
    assert wire[108:116] == b"ipxe.efi"
    assert b"\x34\x01\x02" in wire[240:]  # sname only


def test_overflow_splits_long_option_across_areas() -> None:
    opts = {53: b"\x02", 224: bytes(range(150)) * 3}  # 450 bytes, 4 pieces in 3 areas
    p = Packet(op=2, chaddr=MAC + bytes(10), options=Options(opts))
    wire = p.to_wire()
    assert len(wire) <= 548
    assert Packet.from_wire(wire) == p


def test_too_large_even_with_overload_is_sent_unsplit() -> None:
    opts = {53: b"\x02", **{c: bytes(200) for c in range(224, 230)}}
    p = Packet(op=2, chaddr=MAC + bytes(10), options=Options(opts))
    wire = p.to_wire()
    assert len(wire) > 548
    assert b"\x34\x01" not in wire[240:250]
    assert Packet.from_wire(wire) == p
    # A larger client limit needs no overload at all.
    assert len(p.to_wire(max_size=1500)) == len(wire)


def test_max_size_below_576_is_clamped() -> None:
    opts = {53: b"\x02", **{c: bytes(40) for c in range(224, 232)}}
    p = Packet(op=2, chaddr=MAC + bytes(10), options=Options(opts))
    assert p.to_wire(max_size=100) == p.to_wire(max_size=576)


def test_fast_constructor_matches_dataclass() -> None:
    values = {f.name: i for i, f in enumerate(dataclasses.fields(Packet))}
    values.update(chaddr=b"c", sname=b"s", file=b"f", options=Options({1: b"x"}))
    fast = packet_module._make(**values)  # type: ignore[arg-type]
    assert fast == Packet(**values)  # type: ignore[arg-type]
    assert repr(fast) == repr(Packet(**values))  # type: ignore[arg-type]
    assert hash(fast) == hash(Packet(**values))  # type: ignore[arg-type]


def test_packet_is_frozen() -> None:
    p = make()
    with pytest.raises(dataclasses.FrozenInstanceError):
        p.xid = 1  # type: ignore[misc]


# ----------------------------------------------------------------- accessors


def test_header_helpers() -> None:
    p = Packet(flags=0x8000, chaddr=MAC + bytes(10))
    assert p.broadcast and p.mac == "52:54:00:12:34:56"
    assert Packet(htype=6, chaddr=MAC).mac is None
    assert Packet(hlen=8, chaddr=MAC).mac is None


@pytest.mark.parametrize(
    ("name", "code", "value"),
    [
        ("message_type", 53, b""),
        ("requested_ip", 50, b"\x01\x02\x03"),
        ("server_id", 54, b"\x01\x02\x03\x04\x05"),
        ("routers", 3, b""),
        ("dns_servers", 6, b"\x01\x02\x03\x04\x05"),
        ("lease_time", 51, b"\x00\x01"),
        ("max_message_size", 57, b"\x05"),
        ("hostname", 12, b"\xff\xfe"),
        ("client_arch", 93, b"\x00"),
        ("client_arches", 93, b""),
        ("client_ndi", 94, b"\x01\x03"),
        ("client_uuid", 97, bytes(16)),
        ("client_uuid", 97, b"\x01" + bytes(16)),
        ("client_uuid_dmi", 97, bytes(18)),
        ("relay_agent_info", 82, b"\x01\x05ab"),
        ("vendor_options", 43, b"\x06\x02\x08"),
        ("ipxe_options", 175, b"\xb1"),
    ],
)
def test_bad_option_content_raises_bad_option_on_access(name: str, code: int, value: bytes) -> None:
    p = Packet.from_wire(make(**{f"o{code}": value}).to_wire())  # parsing succeeds
    with pytest.raises(BadOption):
        getattr(p, name)


def test_absent_options_read_as_none() -> None:
    p = Packet()
    for name in ("message_type", "requested_ip", "client_uuid", "user_class", "relay_agent_info"):
        assert getattr(p, name) is None


def test_typed_accessors() -> None:
    p = make(
        o1=encode_ip(IPv4Address("255.255.255.0")),
        o3=encode_ips([IPv4Address("198.18.0.1"), 0xC6120002]),
        o12=b"host\x00",
        o51=encode_u32(86400),
        o57=encode_u16(1500),
        o93=encode_client_arch(ClientArch.EFI_ARM64, 0x99),
        o150=encode_ips([0xC6120001]),
    )
    assert p.subnet_mask == IPv4Address("255.255.255.0")
    assert p.routers == (IPv4Address("198.18.0.1"), IPv4Address("198.18.0.2"))
    assert p.hostname == "host"  # trailing NUL some clients add is dropped
    assert p.lease_time == 86400
    assert p.max_message_size == 1500
    assert p.client_arches == (ClientArch.EFI_ARM64, ClientArch(0x99))
    assert p.client_arch is ClientArch.EFI_ARM64
    assert p.tftp_servers == (IPv4Address("198.18.0.1"),)


# ----------------------------------------------------------------- option codecs


def test_user_class_both_forms() -> None:
    assert decode_user_class(b"iPXE") == (b"iPXE",)
    assert decode_user_class(b"\x04iPXE\x03foo") == (b"iPXE", b"foo")
    assert decode_user_class(b"\x00abc") == (b"\x00abc",)
    assert decode_user_class(b"") == ()
    assert decode_user_class(encode_user_class([b"a", b"bc"])) == (b"a", b"bc")
    with pytest.raises(BadOption):
        encode_user_class([b""])


def test_suboptions() -> None:
    pairs = ((1, b"circuit"), (2, b""), (1, b"again"))
    assert decode_suboptions(encode_suboptions(pairs), 82) == pairs
    # PXE option 43: pad skipped, end stops.
    assert decode_suboptions(b"\x00\x06\x01\x08\xff\x07\x01", 43, pad_end=True) == ((6, b"\x08"),)
    with pytest.raises(BadOption):
        encode_suboptions([(1, bytes(256))])


def test_relay_agent_info_unknown_suboptions_kept() -> None:
    raw = encode_suboptions([(9, b"vendor"), (2, b"rid"), (151, b"\x00vss")])
    info = make(o82=raw).relay_agent_info
    assert info is not None
    assert info.circuit_id is None and info.remote_id == b"rid"
    assert info.raw == raw and info.suboptions[0] == (9, b"vendor")


def test_uuid_dmi_conversion() -> None:
    wire = uuid.UUID("00112233-4455-6677-8899-aabbccddeeff")
    assert uuid_to_dmi(wire) == "33221100-5544-7766-8899-aabbccddeeff"
    assert dmi_to_uuid("33221100-5544-7766-8899-AABBCCDDEEFF") == wire
    assert make(o97=encode_client_uuid(wire)).client_uuid == wire
    with pytest.raises(BadOption):
        dmi_to_uuid("not-a-uuid")


def test_encoders_reject_out_of_range() -> None:
    with pytest.raises(BadOption):
        encode_u16(70000)
    with pytest.raises(BadOption):
        encode_ip(-1)
    with pytest.raises(BadOption):
        encode_u32(-5)


def test_options_container() -> None:
    a = Options({1: b"a", 2: b"b"})
    b = Options([(2, b"b"), (1, b"a")])
    assert a != b  # order matters: they encode differently
    assert a == Options({1: b"a", 2: b"b"}) and hash(a) == hash(Options({1: b"a", 2: b"b"}))
    assert a.with_option(1, b"z") == Options({1: b"z", 2: b"b"})
    assert a.with_option(3, b"c") == Options({1: b"a", 2: b"b", 3: b"c"})
    assert a.without(1) == Options({2: b"b"})
    assert a.get(9) is None and a[OptionCode.SUBNET_MASK] == b"a"
    assert "Options(" in repr(a) and len(a) == 2


# ----------------------------------------------------------------- replies


def test_select_reply_options_orders_by_prl() -> None:
    cand = {51: b"t", 1: b"m", 3: b"r", 6: b"d", 82: b"ra", 54: b"s", 53: b"m", 42: b"n"}
    chosen = select_reply_options(cand, (6, 3, 99, 1))
    assert list(chosen) == [53, 54, 6, 3, 1, 51, 82]
    everything = select_reply_options(cand, None)
    assert list(everything) == [53, 54, 51, 1, 3, 6, 42, 82]
    only = select_reply_options(cand, (42,), always=())
    assert list(only) == [53, 54, 42]
    assert {53, 54, 51, 1, 82} <= ALWAYS_SENT


def test_reply_for_copies_request_fields() -> None:
    relay = encode_suboptions([(1, b"port7")])
    request = Packet(
        htype=1, hlen=6, hops=2, xid=0xDEADBEEF, secs=9, flags=0x8000, ciaddr=0xC6120064,
        giaddr=0xC6130001, chaddr=MAC + bytes(10),
        options=Options({53: b"\x03", 61: b"\x01" + MAC, 82: relay}),
    )  # fmt: skip
    ack = reply_for(request, MessageType.ACK, yiaddr=IPv4Address("198.18.0.100"),
                    server_id=0xC6120001, options={82: b"forged", 53: b"\x07", 52: b"\x03",
                                                   51: encode_u32(60)})  # fmt: skip
    assert (ack.op, ack.hops, ack.secs, ack.xid, ack.flags) == (2, 0, 0, 0xDEADBEEF, 0x8000)
    assert (ack.ciaddr, ack.yiaddr, ack.giaddr) == (0xC6120064, 0xC6120064, 0xC6130001)
    assert ack.chaddr == request.chaddr
    assert list(ack.options.items()) == [
        (53, b"\x05"), (54, bytes([198, 18, 0, 1])), (51, encode_u32(60)),
        (61, b"\x01" + MAC), (82, relay),
    ]  # fmt: skip
    nak = reply_for(request, MessageType.NAK, echo_client_id=False)
    assert nak.ciaddr == 0 and 61 not in nak.options and nak.options[82] == relay
    offer = reply_for(request, MessageType.OFFER, options=[(61, b"mine")])
    assert offer.ciaddr == 0 and offer.options[61] == b"mine"
    with pytest.raises(BadOption):
        reply_for(request, 300)  # type: ignore[arg-type]


# ----------------------------------------------------------------- pxe


@pytest.mark.parametrize(
    ("options", "expected"),
    [
        ({"o93": b"\x00\x00"}, Firmware.BIOS),
        ({"o93": b"\x00\x06"}, Firmware.EFI_IA32),
        ({"o93": b"\x00\x07"}, Firmware.EFI_X64),
        ({"o93": b"\x00\x09"}, Firmware.EFI_X64),
        ({"o93": b"\x00\x0a"}, Firmware.EFI_ARM32),
        ({"o93": b"\x00\x0b"}, Firmware.EFI_ARM64),
        ({"o93": b"\x00\x10"}, Firmware.EFI_X64_HTTP),
        ({"o93": b"\x00\x13"}, Firmware.EFI_ARM64_HTTP),
        ({"o93": b"\x12\x34"}, Firmware.UNKNOWN),
        ({"o60": b"PXEClient:Arch:00007:UNDI:003000"}, Firmware.EFI_X64),
        ({"o60": b"PXEClient:Arch:00000:UNDI:002001"}, Firmware.BIOS),
        ({"o60": b"HTTPClient:Arch:00016:UNDI:003001"}, Firmware.EFI_X64_HTTP),
        # Malformed 93 falls back on 60.
        ({"o93": b"\x00", "o60": b"PXEClient:Arch:00011:UNDI:003000"}, Firmware.EFI_ARM64),
        ({"o60": b"PXEClient:Arch:0000x:UNDI:002001"}, Firmware.UNKNOWN),
        ({"o60": b"PXEClient:Arch:99999"}, Firmware.UNKNOWN),
        ({"o60": b"PXEClient"}, Firmware.UNKNOWN),
        ({"o60": b"MSFT 5.0"}, Firmware.UNKNOWN),
        ({}, Firmware.UNKNOWN),
    ],
)
def test_classify(options: dict[str, bytes], expected: Firmware) -> None:
    assert classify(make(**options)) is expected


def test_client_arch_prefers_option_93() -> None:
    p = make(o93=b"\x00\x0b", o60=b"PXEClient:Arch:00000:UNDI:002001")
    assert client_arch(p) == 11


def test_is_ipxe_forms() -> None:
    assert is_ipxe(make(o77=b"iPXE"))
    assert is_ipxe(make(o77=b"\x04iPXE"))
    assert is_ipxe(make(o77=b"\x03foo\x04iPXE"))
    assert is_ipxe(make(o175=b"\xeb\x03\x01\x15\x01"))
    assert not is_ipxe(make(o77=b"gPXE"))
    assert not is_ipxe(make())


def test_pxe_and_http_clients() -> None:
    assert is_pxe_client(make(o60=b"PXEClient:Arch:00007:UNDI:003000"))
    assert not is_pxe_client(make(o60=b"HTTPClient:Arch:00016"))
    assert is_http_client(make(o60=b"HTTPClient:Arch:00016"))
    assert not is_http_client(make())
