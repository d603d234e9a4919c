"""Golden vectors for the DHCPv4 codec.

Each ``data/dhcp4/NAME.hex`` (written by ``make_vectors.py`` from FIRMWARE.md
facts, without the codec) has a parsed ``NAME.json`` next to it. Run with
``UPDATE_GOLDEN=1`` to rewrite the JSON after a deliberate change, then review
the diff.
"""

from __future__ import annotations

import json
import os
import uuid
from ipaddress import IPv4Address
from pathlib import Path
from typing import Any

import pytest

from metalnet.wire.dhcp4.consts import ClientArch, MessageType, OptionCode
from metalnet.wire.dhcp4.options import (
    ClientNdi,
    RelayAgentInfo,
    encode_ip,
    encode_u32,
    select_reply_options,
)
from metalnet.wire.dhcp4.packet import Packet, reply_for
from metalnet.wire.dhcp4.pxe import Firmware, classify, is_ipxe, is_pxe_client
from metalnet.wire.errors import BadOption

DATA = Path(__file__).parent / "data" / "dhcp4"
UPDATE = os.environ.get("UPDATE_GOLDEN") == "1"
VECTORS = sorted(p.stem for p in DATA.glob("*.hex"))
ACCESSORS = tuple(name for name, attr in vars(Packet).items() if isinstance(attr, property))
# Vectors that to_wire() reproduces byte for byte.
CANONICAL = ["dhclient_request", "ipxe_bios_discover", "ovmf_discover", "relayed_discover"]


def load(name: str) -> bytes:
    text = (DATA / f"{name}.hex").read_text()
    return bytes.fromhex("".join(ln for ln in text.splitlines() if not ln.startswith("#")))


def plain(value: Any) -> Any:
    """A JSON-friendly form of an accessor's value."""
    if isinstance(value, ClientArch | MessageType):
        return value.name
    if isinstance(value, bytes):
        return value.hex()
    if isinstance(value, IPv4Address | uuid.UUID):
        return str(value)
    if isinstance(value, RelayAgentInfo):
        return {"raw": value.raw.hex(), "suboptions": plain(value.suboptions)}
    if isinstance(value, ClientNdi):
        return [value.interface_type, value.major, value.minor]
    if isinstance(value, tuple):
        return [plain(v) for v in value]
    return value


def describe(packet: Packet) -> dict[str, Any]:
    accessors: dict[str, Any] = {}
    for name in ACCESSORS:
        try:
            accessors[name] = plain(getattr(packet, name))
        except BadOption as exc:
            accessors[name] = f"BadOption: {exc}"
    return {
        "header": {
            "op": packet.op,
            "htype": packet.htype,
            "hlen": packet.hlen,
            "hops": packet.hops,
            "xid": f"{packet.xid:08x}",
            "secs": packet.secs,
            "flags": f"{packet.flags:04x}",
            "ciaddr": str(IPv4Address(packet.ciaddr)),
            "yiaddr": str(IPv4Address(packet.yiaddr)),
            "siaddr": str(IPv4Address(packet.siaddr)),
            "giaddr": str(IPv4Address(packet.giaddr)),
            "chaddr": packet.chaddr.hex(),
            "sname": packet.sname.decode("latin-1"),
            "file": packet.file.decode("latin-1"),
        },
        "options": [
            {"code": code, "name": OptionCode(code).name, "value": value.hex()}
            for code, value in packet.options.items()
        ],
        "accessors": accessors,
        "pxe": {
            "classify": classify(packet).value,
            "is_ipxe": is_ipxe(packet),
            "is_pxe_client": is_pxe_client(packet),
        },
    }


@pytest.mark.parametrize("name", VECTORS)
def test_golden(name: str) -> None:
    got = describe(Packet.from_wire(load(name)))
    golden = DATA / f"{name}.json"
    if UPDATE or not golden.exists():
        golden.write_text(json.dumps(got, indent=2) + "\n")
        if not UPDATE:
            pytest.fail(f"{golden.name} was missing and has been written; review and re-run")
    assert got == json.loads(golden.read_text())


def test_all_vectors_present() -> None:
    assert set(VECTORS) >= {*CANONICAL, "overloaded_offer", "bootp_request"}


@pytest.mark.parametrize("name", CANONICAL)
def test_canonical_vectors_reencode_byte_exact(name: str) -> None:
    data = load(name)
    assert Packet.from_wire(data).to_wire() == data


@pytest.mark.parametrize("name", VECTORS)
def test_vectors_round_trip(name: str) -> None:
    packet = Packet.from_wire(load(name))
    assert Packet.from_wire(packet.to_wire()) == packet


def test_ovmf_discover() -> None:
    p = Packet.from_wire(load("ovmf_discover"))
    assert p.message_type is MessageType.DISCOVER
    assert p.broadcast
    assert p.mac == "52:54:00:12:34:56"
    assert p.max_message_size == 1472
    prl = p.parameter_request_list
    assert prl is not None and len(prl) == 35
    assert {43, 60, 66, 67, 97, *range(128, 136)} <= set(prl)
    assert p.client_arch is ClientArch.EFI_BC
    assert p.client_ndi == ClientNdi(1, 3, 0)
    assert p.vendor_class == b"PXEClient:Arch:00007:UNDI:003000"
    assert p.client_uuid == uuid.UUID("1f8b2a4c-5d6e-4f7a-8b9c-0d1e2f3a4b5c")
    # First three fields byte-swapped for the DMI form (FIRMWARE.md).
    assert p.client_uuid_dmi == "4c2a8b1f-6e5d-7a4f-8b9c-0d1e2f3a4b5c"
    assert classify(p) is Firmware.EFI_X64
    assert is_pxe_client(p)
    assert not is_ipxe(p)


def test_ipxe_bios_discover() -> None:
    p = Packet.from_wire(load("ipxe_bios_discover"))
    assert not p.broadcast
    assert p.client_arch is ClientArch.BIOS_X86
    assert p.client_ndi == ClientNdi(1, 2, 1)
    assert p.user_class == (b"iPXE",)
    assert p.client_id == b"\x01" + bytes.fromhex("525400abcdef")
    prl = p.parameter_request_list
    assert prl is not None and 175 in prl and 203 in prl
    ipxe = p.ipxe_options
    assert ipxe is not None and (0xEB, bytes.fromhex("011501")) in ipxe
    assert classify(p) is Firmware.BIOS
    assert is_ipxe(p)


def test_dhclient_request() -> None:
    p = Packet.from_wire(load("dhclient_request"))
    assert p.message_type is MessageType.REQUEST
    assert p.requested_ip == IPv4Address("198.18.0.100")
    assert p.server_id == IPv4Address("198.18.0.1")
    assert p.hostname == "node-1"
    assert p.client_arch is None
    assert classify(p) is Firmware.UNKNOWN
    assert not is_pxe_client(p)


def test_relayed_discover_and_echo() -> None:
    data = load("relayed_discover")
    p = Packet.from_wire(data)
    assert p.hops == 1
    assert p.giaddr == int(IPv4Address("198.19.0.1"))
    info = p.relay_agent_info
    assert info is not None
    assert info.circuit_id == b"ge-0/0/1.100:vlan100"
    assert info.remote_id == bytes.fromhex("0017a4770003")
    assert [code for code, _ in info.suboptions] == [1, 2, 9]
    reply = reply_for(p, MessageType.OFFER, yiaddr=IPv4Address("198.19.0.20"),
                      server_id=IPv4Address("198.18.0.1"))  # fmt: skip
    wire = reply.to_wire()
    # Option 82 echoed byte for byte, last before the end option (RFC 3046).
    raw82 = p.options[82]
    tail = bytes((82, len(raw82))) + raw82 + b"\xff"
    assert tail in wire
    decoded = Packet.from_wire(wire)
    assert list(decoded.options)[-1] == 82
    assert decoded.giaddr == p.giaddr and decoded.xid == p.xid and decoded.hops == 0


def test_overloaded_offer_reads_file_then_sname() -> None:
    p = Packet.from_wire(load("overloaded_offer"))
    assert p.message_type is MessageType.OFFER
    assert p.file == b"" and p.sname == b""
    assert OptionCode.OVERLOAD not in p.options
    # 43 is joined across options (empty), file, then sname (RFC 3396).
    assert p.options[43] == b"\x06\x01\x08\xff"
    assert p.vendor_options == ((6, b"\x08"),)
    assert p.bootfile_name == "pxelinux.0"
    assert p.tftp_server_name == "198.18.0.1"
    assert p.lease_time == 3600
    assert list(p.options) == [53, 54, 51, 43, 67, 66]


def test_bootp_request_without_cookie() -> None:
    p = Packet.from_wire(load("bootp_request"))
    assert p.is_bootp
    assert p.message_type is None
    assert p.file == b"boot/diskless"
    assert len(p.options) == 0


def test_offer_for_ipxe_honours_prl() -> None:
    request = Packet.from_wire(load("ipxe_bios_discover"))
    server = IPv4Address("198.18.0.1")
    candidates = {
        OptionCode.SUBNET_MASK: encode_ip(IPv4Address("255.255.255.0")),
        OptionCode.ROUTER: encode_ip(server),
        OptionCode.LEASE_TIME: encode_u32(3600),
        OptionCode.NTP_SERVERS: encode_ip(server),  # not requested: dropped
        OptionCode.BOOTFILE_NAME: b"http://198.18.0.1/boot/52:54:00:ab:cd:ef.ipxe",
    }
    chosen = select_reply_options(candidates, request.parameter_request_list)
    reply = reply_for(request, MessageType.OFFER, yiaddr=IPv4Address("198.18.0.100"),
                      siaddr=server, server_id=server, options=chosen)  # fmt: skip
    assert list(reply.options) == [53, 54, 1, 3, 67, 51, 61]
    decoded = Packet.from_wire(reply.to_wire(max_size=request.max_message_size))
    assert decoded == reply
    assert decoded.op == 2 and decoded.xid == request.xid and decoded.chaddr == request.chaddr
    assert decoded.client_id == request.client_id  # RFC 6842 echo
    assert decoded.message_type is MessageType.OFFER
    assert decoded.server_id == server
