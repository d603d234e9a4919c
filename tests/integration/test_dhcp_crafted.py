"""Crafted DHCP packets against ``metalnet serve`` in network namespaces (issue 3, item 5).

Where no stock client can say what a test needs (a relay agent, PXE and iPXE
firmware, a client's ``secs``, garbage, a flood), requests are built with
:mod:`metalnet.wire.dhcp4` and sent from a UDP socket inside a client namespace
(0.0.0.0:68 with SO_BINDTODEVICE, or 198.18.11.1:67 for the relay).

Segments of this module's server:

* ``ctl`` 198.18.10.0/24, ``pool``; a relay namespace on its bridge (198.18.10.2)
  serves a remote subnet 198.18.11.0/24 (network on physical network ``remote``,
  which no interface serves; the server routes 198.18.11.0/24 via the relay);
* ``dly`` 198.18.13.0/24, ``delay:3``;
* ``prx`` 198.18.14.0/24, ``proxy``;
* ``fld`` 198.18.16.0/24, ``pool``: flooded, so the other pools stay usable.
"""

from __future__ import annotations

import random
import struct
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from metalnet.wire.dhcp4.options import (
    encode_client_arch,
    encode_ip,
    encode_suboptions,
    encode_user_class,
)
from tests.support.netns import (
    DhcpProbe,
    DhcpSite,
    NetnsLab,
    Udhcpc,
    ip_int,
    ip_text,
    random_mac,
    request_packet,
    skip_unless_netns,
    udp_socket,
)

pytestmark = pytest.mark.integration

SERVER = "198.18.10.1"
RELAY_LINK = "198.18.10.2"
GIADDR = "198.18.11.1"


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DhcpSite]:
    skip_unless_netns()
    with NetnsLab() as lab:
        site = DhcpSite(lab, tmp_path_factory.mktemp("dhcp-crafted"), {
            "ctl": ("198.18.10.0/24", "pool"),
            "dly": ("198.18.13.0/24", "delay:3"),
            "prx": ("198.18.14.0/24", "proxy"),
            "fld": ("198.18.16.0/24", "pool"),
        })
        try:
            yield site
            assert site.server.alive(), site.server.log_tail()
            assert site.close() == 0, site.server.log_tail()  # SIGTERM stops it cleanly
            assert "DHCP batch failed" not in site.server.log_tail(100_000)
        finally:
            site.close()


def _client(site: DhcpSite, segment: str, mac: str) -> DhcpProbe:
    ns, iface = site.client(segment, mac)
    return DhcpProbe(ns, iface)


def _in_pool(address: int, prefix: str) -> bool:
    text = ip_text(address)
    return text.startswith(prefix + ".") and 100 <= int(text.rsplit(".", 1)[1]) <= 199


# -- relayed exchange --------------------------------------------------------------------------


@pytest.fixture(scope="module")
def relay(site: DhcpSite) -> dict[str, Any]:
    """A relay agent on the ``ctl`` bridge as 198.18.10.2, with a second address
    198.18.11.1 (its giaddr; no dummy link, the kernel may lack the module), and a
    network ``remote`` with subnet 198.18.11.0/24 (pool)."""
    lab = site.lab
    ns, iface = site.client("ctl", random_mac())
    lab.add_address(ns, iface, f"{RELAY_LINK}/24")
    lab.add_address(ns, iface, f"{GIADDR}/24")  # the relay's address on the remote side
    lab.add_route(site.ns, "198.18.11.0/24", RELAY_LINK)
    network = site.api.create("networks", {
        "name": "remote", "provider:network_type": "flat",
        "provider:physical_network": "remote", "unknown_mac_policy": "pool"})
    subnet = site.api.create("subnets", {
        "network_id": network["id"], "ip_version": 4, "cidr": "198.18.11.0/24",
        "gateway_ip": GIADDR, "allocation_pools": [
            {"start": "198.18.11.100", "end": "198.18.11.199"}]})
    return {"ns": ns, "network": network, "subnet": subnet}


def _relayed(mac: str, message_type: int, option82: bytes, **fields: Any) -> Any:
    return request_packet(mac, message_type, giaddr=ip_int(GIADDR), hops=1, flags=0,
                          options={82: option82, **fields.pop("options", {})}, **fields)


def test_relayed_exchange_answers_giaddr_and_echoes_option_82(
    site: DhcpSite, relay: dict[str, Any]
) -> None:
    mac = random_mac()
    site.api.create("ports", {
        "network_id": relay["network"]["id"], "mac_address": mac,
        "fixed_ips": [{"subnet_id": relay["subnet"]["id"], "ip_address": "198.18.11.50"}],
        "extra_dhcp_opts": [{"opt_name": "bootfile-name", "opt_value": "remote.kpxe"},
                            {"opt_name": "server-ip-address", "opt_value": SERVER}]})
    site.sync()
    option82 = encode_suboptions([(1, b"ge-0/0/7.0:vlan12"), (2, b"\x00\x1b\x21\xaa\xbb\xcc"),
                                  (9, b"\x00\x00\x0d\xe9\x02\x01\x07")])
    with DhcpProbe(relay["ns"], None, port=67, address=GIADDR) as agent:
        destination = (SERVER, 67)
        discover = _relayed(mac, 1, option82)
        offer = agent.exchange_full(discover, 2.0, destination)
        assert offer is not None, site.server.log_tail()
        assert offer.source == (SERVER, 67)
        assert offer.destination == GIADDR  # unicast to the relay, port 67
        assert ip_text(offer.packet.yiaddr) == "198.18.11.50"
        assert offer.packet.giaddr == ip_int(GIADDR)
        assert offer.packet.options[82] == option82  # byte for byte
        assert offer.packet.file == b"remote.kpxe"
        assert ip_text(offer.packet.siaddr) == SERVER
        assert offer.packet.subnet_mask is not None
        assert str(offer.packet.routers[0]) == GIADDR
        request = _relayed(mac, 3, option82, xid=discover.xid, options={
            50: encode_ip(offer.packet.yiaddr), 54: offer.packet.options[54]})
        ack = agent.exchange_full(request, 2.0, destination)
        assert ack is not None
        assert ack.packet.message_type == 5
        assert ack.destination == GIADDR and ack.source == (SERVER, 67)
        assert ip_text(ack.packet.yiaddr) == "198.18.11.50"
        assert ack.packet.options[82] == option82

        # An unknown MAC behind the relay gets an address of the relay's subnet.
        pool = agent.exchange(_relayed(random_mac(), 1, option82), 2.0, destination)
        assert pool is not None and _in_pool(pool.yiaddr, "198.18.11")
        assert pool.options[82] == option82


# -- option 93 and iPXE choose the boot file ---------------------------------------------------

IPXE_URL = "http://198.18.10.1:8080/boot.ipxe"
TAGGED = {
    "bootfile-name": "default.0",
    "tag:bios,bootfile-name": "undionly.kpxe",
    "tag:efi-x86_64,bootfile-name": "ipxe.efi",
    "tag:efi-arm64,bootfile-name": "ipxe-arm64.efi",
    "tag:ipxe,bootfile-name": IPXE_URL,
    "server-ip-address": SERVER,
}
IPXE_175 = encode_suboptions([(19, b"\x01"), (17, b"\x01"), (235, b"\x01\x00\x00\x00")])


@pytest.fixture(scope="module")
def tagged_client(site: DhcpSite) -> Iterator[tuple[str, DhcpProbe]]:
    mac = random_mac()
    site.port("ctl", mac, 31, TAGGED)
    with _client(site, "ctl", mac) as probe:
        yield mac, probe


def _vendor(arch: int) -> bytes:
    return f"PXEClient:Arch:{arch:05d}:UNDI:003000".encode()


@pytest.mark.parametrize(("options", "expected"), [
    pytest.param({}, "default.0", id="no-arch"),
    pytest.param({93: encode_client_arch(0), 60: _vendor(0)}, "undionly.kpxe", id="bios"),
    pytest.param({93: encode_client_arch(7), 60: _vendor(7)}, "ipxe.efi", id="efi-x86_64"),
    pytest.param({93: encode_client_arch(9), 60: _vendor(9)}, "ipxe.efi", id="efi-bc"),
    pytest.param({93: encode_client_arch(11), 60: _vendor(11)}, "ipxe-arm64.efi", id="arm64"),
    pytest.param({93: encode_client_arch(0), 77: b"iPXE"}, IPXE_URL, id="ipxe-raw-77"),
    pytest.param({93: encode_client_arch(7), 77: encode_user_class([b"iPXE"])}, IPXE_URL,
                 id="ipxe-rfc3004-77"),
    pytest.param({93: encode_client_arch(0), 175: IPXE_175}, IPXE_URL, id="ipxe-175"),
    pytest.param({93: encode_client_arch(7), 77: b"gPXE"}, "ipxe.efi", id="other-77"),
])
def test_option_93_and_ipxe_choose_the_boot_file(
    tagged_client: tuple[str, DhcpProbe], options: dict[int, bytes], expected: str
) -> None:
    mac, probe = tagged_client
    offer, ack = probe.lease(mac, options=options)
    for reply in (offer, ack):
        assert ip_text(reply.yiaddr) == "198.18.10.31"
        assert reply.file == expected.encode()
        assert reply.options[67] == expected.encode()
        assert ip_text(reply.siaddr) == SERVER


# -- renewing: a unicast REQUEST with ciaddr ---------------------------------------------------


def test_unicast_renew_with_ciaddr_keeps_the_address(site: DhcpSite) -> None:
    mac = random_mac()
    ns, iface = site.client("ctl", mac)
    with DhcpProbe(ns, iface) as probe:
        _offer, ack = probe.lease(mac)
        address = ack.yiaddr
        assert _in_pool(address, "198.18.10")
        site.lab.add_address(ns, iface, f"{ip_text(address)}/24")
        # RENEWING (RFC 2131 4.3.2): ciaddr set, no 50 and no 54, unicast to the server.
        renew = request_packet(mac, 3, ciaddr=address, flags=0)
        got = probe.exchange_full(renew, 3.0, (SERVER, 67))
        assert got is not None
        assert got.packet.message_type == 5
        assert got.packet.yiaddr == address and got.packet.ciaddr == address
        assert got.destination == ip_text(address)  # unicast to ciaddr:68, not broadcast
        assert got.source == (SERVER, 67)


# -- delay:N ----------------------------------------------------------------------------------


def test_delay_policy_answers_only_once_secs_reaches_n(site: DhcpSite) -> None:
    mac = random_mac()
    with _client(site, "dly", mac) as probe:
        for secs in (0, 1, 2):
            assert probe.exchange(request_packet(mac, 1, secs=secs), 0.6, retry=0.3) is None
        offer = probe.exchange(request_packet(mac, 1, secs=3), 2.0)
        assert offer is not None and _in_pool(offer.yiaddr, "198.18.13")
        _offer, ack = probe.lease(mac, secs=4)
        assert ack.message_type == 5 and ack.yiaddr == offer.yiaddr
        # Once it holds the lease, a REQUEST with secs back at 0 is answered.
        again = probe.exchange(request_packet(mac, 3, secs=0, options={
            50: encode_ip(ack.yiaddr)}), 2.0)
        assert again is not None and again.message_type == 5 and again.yiaddr == ack.yiaddr


# -- proxyDHCP ---------------------------------------------------------------------------------


def test_proxy_gives_boot_options_without_an_address(site: DhcpSite) -> None:
    seg = site.segments["prx"]
    mac = random_mac()
    site.port("prx", mac, None, {"bootfile-name": "proxy.kpxe",
                                 "server-ip-address": seg.server_ip})
    ns, iface = site.client("prx", mac)
    pxe = {60: b"PXEClient:Arch:00000:UNDI:002001", 93: encode_client_arch(0)}
    with DhcpProbe(ns, iface) as probe:
        offer = probe.exchange(request_packet(mac, 1, options=pxe), 2.0)
        assert offer is not None, site.server.log_tail()
        assert offer.message_type == 2
        assert offer.yiaddr == 0
        assert offer.options[60] == b"PXEClient"
        assert offer.file == b"proxy.kpxe"
        assert ip_text(offer.siaddr) == seg.server_ip
        assert offer.options[54] == encode_ip(ip_int(seg.server_ip))

        # Not a PXE client: nothing (another server gives the addresses).
        assert probe.exchange(request_packet(mac, 1), 1.0) is None
        # An unknown PXE client: no boot file to give (no network default yet): nothing.
        assert probe.exchange(request_packet(random_mac(), 1, options=pxe), 1.0) is None

    # The PXE client, now holding an address from the other server, asks on 4011.
    site.lab.add_address(ns, iface, f"{seg.host(77)}/24")
    with DhcpProbe(ns, iface) as probe:
        request = request_packet(mac, 3, ciaddr=ip_int(seg.host(77)), flags=0, options=pxe)
        got = probe.exchange_full(request, 2.0, (seg.server_ip, 4011))
        assert got is not None
        assert got.packet.message_type == 5
        assert got.packet.file == b"proxy.kpxe"
        assert got.destination == seg.host(77)


# -- bad input ---------------------------------------------------------------------------------


def _garbage(seed: int = 20240603) -> list[bytes]:
    """Malformed and hostile requests: a few hundred, deterministic."""
    rng = random.Random(seed)
    mac = bytes.fromhex("5254deadbeef")
    good = request_packet("52:54:de:ad:be:ef", 1).to_wire()
    header = bytearray(good[:236])
    cookie = b"\x63\x82\x53\x63"
    cases = [
        b"", b"\x01", good[:100], good[:235], good[:236], good[:239],  # truncated
        bytes(header) + b"\x00\x00\x00\x00" + b"\x35\x01\x01\xff",  # bad cookie
        bytes(header) + b"\xde\xad\xbe\xef" + bytes(300),  # bad cookie, long
        bytes(header) + cookie + b"\x35\xff\x01",  # option length past the end
        bytes(header) + cookie + b"\x35\x01\x01\x37\xfe" + bytes(10),  # 55 runs past the end
        bytes(header) + cookie + b"\x35\x00\xff",  # empty message type
        bytes(header) + cookie + b"\x35\x01\x63\xff",  # message type 99
        bytes(header) + cookie + b"\x34\x01\x07\x35\x01\x01\xff",  # bad overload value
        bytes(header) + cookie + b"\x34\x01\x01\x35\x01\x01\xff",  # overload, file is zeros
        bytes(header) + cookie + b"\x35\x01\x01\x32\x03\x01\x02\x03\xff",  # 3-byte opt 50
        bytes(header) + cookie + b"\x35\x01\x03\x36\x02\x01\x02\xff",  # 2-byte server id
        bytes(header) + cookie + b"\x35\x01\x01\x5d\x03\x00\x00\x00\xff",  # odd option 93
        bytes(header) + cookie + b"\x35\x01\x01\x52\x03\x01\x09\x00\xff",  # bad 82 sub-option
        bytes(header) + cookie + b"\x35\x01\x01" + b"\x00" * 2000 + b"\xff",  # huge, padded
        bytes(header) + cookie + (b"\x0c\xff" + b"A" * 255) * 10 + b"\xff",  # long options
        bytes(1500), b"\xff" * 1500, b"\x02" + good[1:],  # zeros, ones, a BOOTREPLY
    ]
    for htype, hlen in ((6, 6), (1, 0), (1, 16), (1, 255), (0, 6), (32, 20)):
        wrong = bytearray(good)
        wrong[1], wrong[2] = htype, hlen
        cases.append(bytes(wrong))
    for length in range(0, len(good), 7):  # every truncation of a DISCOVER
        cases.append(good[:length])
    for _ in range(150):  # random bytes
        cases.append(rng.randbytes(rng.randrange(0, 700)))
    for _ in range(150):  # a valid header and cookie, then random option bytes
        head = bytearray(header)
        head[0], head[1], head[2] = 1, 1, 6
        head[28:34] = mac
        options = bytearray([53, 1, rng.randrange(1, 9)])
        for _ in range(rng.randrange(0, 8)):
            code = rng.choice([50, 54, 55, 57, 60, 61, 77, 82, 93, 94, 97, 175, 52,
                               rng.randrange(256)])
            value = rng.randbytes(rng.randrange(0, 20))
            options += bytes([code, len(value)]) + value
        cases.append(bytes(head) + cookie + bytes(options) + rng.choice([b"\xff", b""]))
    return cases


def test_malformed_packets_leave_the_server_answering(site: DhcpSite, tmp_path: Path) -> None:
    cases = _garbage()
    assert len(cases) > 300
    mac = random_mac()
    site.port("ctl", mac, 41, {"bootfile-name": "after.garbage"})
    ns, iface = site.client("ctl", mac)
    with DhcpProbe(ns, iface) as probe:
        for data in cases:
            probe.send(data)
            probe.send(data, (SERVER, 67))
            probe.send(data, (SERVER, 4011))
        # The server drains what it got; then a real client still gets its lease.
        env = Udhcpc(site.lab, ns, iface, tmp_path).once()
    assert site.server.alive(), site.server.log_tail()
    assert env is not None, site.server.log_tail()
    assert env["ip"] == "198.18.10.41" and env["boot_file"] == "after.garbage"
    assert "Traceback" not in site.server.log_tail(100_000)


# -- a flood of unknown MACs -------------------------------------------------------------------


def _flood(ns: str, iface: str, count: int, seconds: float, stop: threading.Event) -> int:
    """Send ``count`` DISCOVERs from random MACs, paced over ``seconds``; how many sent."""
    sock = udp_socket(ns, ("0.0.0.0", 68), device=iface)
    template = bytearray(request_packet("52:54:00:00:00:00", 1).to_wire())
    rng = random.Random(7)
    sent = 0
    start = time.monotonic()
    try:
        while sent < count and not stop.is_set():
            for _ in range(50):
                struct.pack_into("!I", template, 4, rng.getrandbits(32))  # xid
                template[28:34] = b"\x52\x54" + rng.randbytes(4)  # chaddr
                sock.sendto(template, ("255.255.255.255", 67))
                sent += 1
            ahead = start + seconds * sent / count - time.monotonic()
            if ahead > 0:
                time.sleep(ahead)
    finally:
        sock.close()
    return sent


def test_flood_of_unknown_macs_does_not_starve_a_registered_one(site: DhcpSite) -> None:
    mac = random_mac()
    site.port("fld", mac, 42, {"bootfile-name": "registered.efi"})
    flooder_ns, flooder_if = site.client("fld", random_mac())
    stop = threading.Event()
    result: list[int] = []
    flooder = threading.Thread(
        target=lambda: result.append(_flood(flooder_ns, flooder_if, 5000, 4.0, stop)))
    latencies = []
    with _client(site, "fld", mac) as probe:
        flooder.start()
        try:
            time.sleep(0.3)  # the flood is under way
            while flooder.is_alive():
                discover = request_packet(mac, 1)
                started = time.monotonic()
                probe.send(discover)  # once: no retransmission hides a drop
                got = probe.receive(discover.xid, 2.0)
                assert got is not None, f"registered MAC unanswered after {len(latencies)} tries"
                assert ip_text(got.packet.yiaddr) == "198.18.16.42"
                assert got.packet.file == b"registered.efi"
                latencies.append(time.monotonic() - started)
                time.sleep(0.05)
        finally:
            stop.set()
            flooder.join(10)
    assert result and result[0] == 5000
    assert len(latencies) >= 10
    assert max(latencies) < 0.5, latencies
    assert site.server.alive()
    # The flood did reach the server: it took the whole pool (offers are held 30 s).
    with _client(site, "fld", random_mac()) as late:
        assert late.exchange(request_packet(random_mac(), 1), 1.0) is None
    print(f"registered DISCOVERs during the flood: {len(latencies)}, "
          f"max {max(latencies) * 1000:.1f} ms")
