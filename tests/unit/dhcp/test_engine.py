"""DhcpEngine decisions per message type and client state (RFC 2131 4.3), no sockets."""

from __future__ import annotations

from dataclasses import replace

import pytest

from metalnet.core.model import ExtraDhcpOpt, FixedIP
from metalnet.dhcp.engine import Drop, Reply
from metalnet.wire.dhcp4.options import encode_client_arch, encode_ip, encode_suboptions
from tests.factories import make_port
from tests.unit.dhcp.conftest import REGISTERED, SERVER_IP, Bench, ip, request

UNKNOWN = "52:54:00:cc:dd:01"
OTHER = "52:54:00:cc:dd:02"
BROADCAST = ("255.255.255.255", 68)
DISCOVER, OFFER, REQUEST, DECLINE, ACK, NAK, RELEASE, INFORM = 1, 2, 3, 4, 5, 6, 7, 8


def _reply(outcome: Reply | Drop) -> Reply:
    assert isinstance(outcome, Reply), outcome
    return outcome


def _lease(bench: Bench, mac: str) -> int:
    """DISCOVER + REQUEST (SELECTING) for an unknown MAC; the ACKed address."""
    offer = _reply(bench.handle(request(mac, DISCOVER))).packet
    ack = _reply(bench.handle(request(mac, REQUEST, options={
        50: encode_ip(offer.yiaddr), 54: encode_ip(ip(SERVER_IP))}))).packet
    assert ack.message_type == ACK
    return ack.yiaddr


# -- registered MAC ----------------------------------------------------------------------------


def test_discover_from_a_registered_mac_offers_its_address_and_boot_options(
    bench: Bench,
) -> None:
    reply = _reply(bench.handle(request(REGISTERED, DISCOVER, flags=0x8000)))
    packet = reply.packet
    assert packet.message_type == OFFER and packet.op == 2 and packet.xid == 0x1234
    assert packet.yiaddr == ip("198.18.10.21")
    assert packet.siaddr == ip(SERVER_IP)
    assert packet.file == b"pxelinux.0" and packet.options[67] == b"pxelinux.0"
    assert packet.options[54] == encode_ip(ip(SERVER_IP))
    assert packet.options[1] == encode_ip(ip("255.255.255.0"))
    assert packet.options[3] == encode_ip(ip("198.18.10.1"))
    assert packet.options[6] == encode_ip(ip("198.18.10.53"))
    assert packet.lease_time == 3600 and packet.renewal_time == 1800
    assert packet.rebinding_time == 3150
    assert reply.address == BROADCAST
    assert not reply.lease_written


def test_selecting_request_for_the_offer_is_acked(bench: Bench) -> None:
    reply = _reply(bench.handle(request(REGISTERED, REQUEST, options={
        50: encode_ip(ip("198.18.10.21")), 54: encode_ip(ip(SERVER_IP))})))
    assert reply.packet.message_type == ACK
    assert reply.packet.yiaddr == ip("198.18.10.21")
    assert reply.address == BROADCAST


def test_selecting_another_server_is_dropped_and_the_offer_withdrawn(bench: Bench) -> None:
    offer = _reply(bench.handle(request(UNKNOWN, DISCOVER))).packet
    subnet_id = bench.subnet.id
    assert bench.leases.offered_to(subnet_id, UNKNOWN) == offer.yiaddr
    outcome = bench.handle(request(UNKNOWN, REQUEST, options={
        50: encode_ip(offer.yiaddr), 54: encode_ip(ip("198.18.10.254"))}))
    assert outcome == Drop("other-server-selected")
    assert bench.leases.offered_to(subnet_id, UNKNOWN) is None
    assert bench.leases.lease_of(subnet_id, UNKNOWN) is None


def test_init_reboot_with_a_wrong_address_is_naked(bench: Bench) -> None:
    # Registered MAC asking for an address that is not its own.
    reply = _reply(bench.handle(request(REGISTERED, REQUEST, options={
        50: encode_ip(ip("198.18.10.99"))})))
    assert reply.packet.message_type == NAK
    assert reply.packet.yiaddr == 0
    assert 51 not in reply.packet.options
    assert reply.address == BROADCAST  # NAKs are broadcast (RFC 2131 4.3.2)
    # Unknown MAC coming back from another network.
    reply = _reply(bench.handle(request(UNKNOWN, REQUEST, options={
        50: encode_ip(ip("198.18.99.5"))})))
    assert reply.packet.message_type == NAK
    assert reply.packet.options[56] == b"wrong network"


def test_init_reboot_for_its_own_lease_is_acked(bench: Bench) -> None:
    address = _lease(bench, UNKNOWN)
    reply = _reply(bench.handle(request(UNKNOWN, REQUEST, options={50: encode_ip(address)})))
    assert reply.packet.message_type == ACK and reply.packet.yiaddr == address
    assert reply.lease_written


def test_renewing_is_answered_by_unicast_to_ciaddr(bench: Bench) -> None:
    address = _lease(bench, UNKNOWN)
    reply = _reply(bench.handle(request(UNKNOWN, REQUEST, ciaddr=address)))
    assert reply.packet.message_type == ACK
    assert reply.packet.yiaddr == address and reply.packet.ciaddr == address
    assert reply.address == ("198.18.10.100", 68)
    # The registered machine renewing its fixed address too.
    reply = _reply(bench.handle(request(REGISTERED, REQUEST, ciaddr=ip("198.18.10.21"))))
    assert reply.packet.message_type == ACK and reply.address == ("198.18.10.21", 68)


def test_a_relayed_request_is_answered_to_giaddr_with_option_82(bench: Bench) -> None:
    option82 = encode_suboptions([(1, b"port7"), (2, b"\x00\x01")])
    packet = request(REGISTERED, DISCOVER, giaddr=ip("198.18.10.250"), hops=1,
                     options={82: option82})
    reply = _reply(bench.handle(packet))
    assert reply.address == ("198.18.10.250", 67)
    assert reply.packet.giaddr == ip("198.18.10.250")
    assert reply.packet.options[82] == option82
    assert list(reply.packet.options)[-1] == 82  # last, as RFC 3046 asks


def test_a_relay_for_an_unknown_subnet_is_dropped(bench: Bench) -> None:
    assert bench.handle(request(REGISTERED, DISCOVER, giaddr=ip("198.19.1.1"))) == Drop(
        "relay-subnet-unknown")


def test_inform_gets_options_without_an_address(bench: Bench) -> None:
    reply = _reply(bench.handle(request(REGISTERED, INFORM, ciaddr=ip("198.18.10.21"),
                                        options={55: bytes([1, 3, 6, 67])})))
    packet = reply.packet
    assert packet.message_type == ACK
    assert packet.yiaddr == 0
    assert 51 not in packet.options and 58 not in packet.options  # no lease in an INFORM
    assert packet.options[67] == b"pxelinux.0"
    assert reply.address == ("198.18.10.21", 68)
    assert bench.handle(request(REGISTERED, INFORM)) == Drop("inform-without-ciaddr")


def test_decline_quarantines_the_address(bench: Bench) -> None:
    address = _lease(bench, UNKNOWN)
    outcome = bench.handle(request(UNKNOWN, DECLINE, options={50: encode_ip(address)}))
    assert outcome == Drop("declined")
    holder = bench.leases.holder(address)
    assert holder is not None and holder.declined
    assert bench.leases.lease_of(bench.subnet.id, UNKNOWN) is None
    # Neither the decliner nor anyone else is offered it again.
    for mac in (UNKNOWN, OTHER):
        offer = _reply(bench.handle(request(mac, DISCOVER, options={50: encode_ip(address)})))
        assert offer.packet.yiaddr != address


def test_decline_of_an_address_not_leased_to_it_is_ignored(bench: Bench) -> None:
    address = _lease(bench, UNKNOWN)
    outcome = bench.handle(request(OTHER, DECLINE, options={50: encode_ip(address)}))
    assert outcome == Drop("decline-ignored")
    assert bench.leases.holder(address).mac == UNKNOWN  # type: ignore[union-attr]


def test_release_frees_the_address(bench: Bench) -> None:
    address = _lease(bench, UNKNOWN)
    assert bench.handle(request(OTHER, RELEASE, ciaddr=address)) == Drop("release-ignored")
    assert bench.handle(request(UNKNOWN, RELEASE, ciaddr=address)) == Drop("released")
    assert bench.leases.lease_of(bench.subnet.id, UNKNOWN) is None
    offer = _reply(bench.handle(request(OTHER, DISCOVER, options={50: encode_ip(address)})))
    assert offer.packet.yiaddr == address


# -- unknown MACs by policy --------------------------------------------------------------------


def test_pool_gives_distinct_addresses_and_never_a_port_address(bench: Bench) -> None:
    # A port holding a pool address: it is skipped.
    holder = make_port(bench.network.id, (bench.subnet.id, "198.18.10.100"))
    bench.put(holder)
    offered = set()
    for n in range(3):
        reply = _reply(bench.handle(request(f"52:54:00:cc:00:{n:02x}", DISCOVER)))
        offered.add(reply.packet.yiaddr)
        assert reply.packet.file == b""  # pool: no boot options
    assert offered == {ip("198.18.10.101"), ip("198.18.10.102"), ip("198.18.10.103")}
    assert bench.handle(request("52:54:00:cc:00:ff", DISCOVER)) == Drop("pool-exhausted")


def test_request_for_a_port_address_is_naked(bench: Bench) -> None:
    reply = _reply(bench.handle(request(UNKNOWN, REQUEST, options={
        50: encode_ip(ip("198.18.10.21"))})))
    assert reply.packet.message_type == NAK


def test_ignore_drops_and_records_a_sighting(bench: Bench) -> None:
    bench.policy("ignore")
    packet = request(UNKNOWN, DISCOVER, options={60: b"PXEClient:Arch:00007:UNDI:003000",
                                                 93: encode_client_arch(7)})
    assert bench.handle(packet) == Drop("unknown-mac:ignore")
    assert bench.handle(packet) == Drop("unknown-mac:ignore")
    (sighting,) = bench.sightings.take_dirty()
    assert sighting.mac == UNKNOWN and sighting.count == 2 and sighting.policy == "ignore"
    assert sighting.client_arch == 7 and sighting.vendor_class.startswith("PXEClient")


@pytest.mark.parametrize(("secs", "answered"), [(0, False), (4, False), (5, True), (60, True)])
def test_delay_answers_once_secs_reaches_n(bench: Bench, secs: int, answered: bool) -> None:
    bench.policy("delay:5")
    outcome = bench.handle(request(UNKNOWN, DISCOVER, secs=secs))
    if answered:
        assert _reply(outcome).packet.message_type == OFFER
    else:
        assert outcome == Drop("unknown-mac:delay")


def test_discover_policy_uses_the_discovery_defaults(bench: Bench) -> None:
    calls = []

    def defaults(network, port, purpose, server_ip):  # type: ignore[no-untyped-def]
        calls.append(purpose)
        return (ExtraDhcpOpt("bootfile-name", "discovery.kpxe"),)

    bench.engine.boot_defaults = defaults
    bench.policy("discover")
    reply = _reply(bench.handle(request(UNKNOWN, DISCOVER)))
    assert reply.packet.file == b"discovery.kpxe"
    assert calls == ["discovery"]


def test_a_port_that_is_down_gets_nothing(bench: Bench) -> None:
    bench.put(replace(bench.port, admin_state_up=False, revision_number=5))
    assert bench.handle(request(REGISTERED, DISCOVER)) == Drop("port-down")


def test_proxy_gives_boot_options_only_to_pxe_clients(bench: Bench) -> None:
    bench.policy("proxy")
    bench.put(replace(bench.port, fixed_ips=(), revision_number=5))
    pxe = {60: b"PXEClient:Arch:00000:UNDI:002001", 93: encode_client_arch(0)}
    reply = _reply(bench.handle(request(REGISTERED, DISCOVER, options=pxe)))
    assert reply.packet.message_type == OFFER
    assert reply.packet.yiaddr == 0
    assert reply.packet.options[60] == b"PXEClient"
    assert reply.packet.file == b"pxelinux.0"
    assert reply.address == BROADCAST
    assert bench.handle(request(REGISTERED, DISCOVER)) == Drop("proxy-not-pxe")
    # An unknown PXE client: no default boot options yet, so nothing.
    assert bench.handle(request(UNKNOWN, DISCOVER, options=pxe)) == Drop("unknown-mac:proxy")
    # On port 4011 a REQUEST with ciaddr is ACKed to ciaddr:68.
    reply = _reply(bench.handle(request(REGISTERED, REQUEST, ciaddr=ip("198.18.10.77"),
                                        options=pxe), proxy=True))
    assert reply.packet.message_type == ACK
    assert reply.address == ("198.18.10.77", 68)


def test_port_with_a_second_fixed_ip_on_a_dhcp_disabled_subnet(bench: Bench) -> None:
    from tests.factories import make_subnet

    static = make_subnet(bench.network.id, "198.18.20.0/24", enable_dhcp=False)
    port = replace(bench.port, fixed_ips=(FixedIP(static.id, "198.18.20.5"),
                                          *bench.port.fixed_ips), revision_number=9)
    bench.put(static, port)
    reply = _reply(bench.handle(request(REGISTERED, DISCOVER)))
    assert reply.packet.yiaddr == ip("198.18.10.21")


# -- bad input ---------------------------------------------------------------------------------


@pytest.mark.parametrize("packet", [
    request(REGISTERED, DISCOVER, op=2),
    request(REGISTERED, DISCOVER, htype=6),
    request(REGISTERED, None),
    request(REGISTERED, 99),
    request(UNKNOWN, REQUEST, options={50: b"\x01\x02\x03"}),
    request(UNKNOWN, REQUEST, options={54: b"\x01"}),
    request(UNKNOWN, DISCOVER, options={93: b"\x00"}),
    request(UNKNOWN, DISCOVER, options={82: b"\x01\x09"}),
    request(UNKNOWN, DISCOVER, options={77: b"\x09iPXE"}),
    request(UNKNOWN, DISCOVER, options={55: b""}),
    request(UNKNOWN, DECLINE, options={50: b""}),
    request(UNKNOWN, INFORM, ciaddr=ip("198.18.99.1")),
], ids=["bootreply", "htype", "bootp", "type-99", "short-50", "short-54", "odd-93",
        "bad-82", "bad-77", "empty-55", "empty-50-decline", "inform-elsewhere"])
def test_bad_requests_are_dropped_or_answered_never_raised(bench: Bench, packet) -> None:  # type: ignore[no-untyped-def]
    outcome = bench.handle(packet)
    assert isinstance(outcome, Reply | Drop)
    if isinstance(outcome, Reply):
        outcome.packet.to_wire()


# -- found while testing -----------------------------------------------------------------------


def test_delay_does_not_apply_to_a_client_that_holds_a_lease(bench: Bench) -> None:
    """The delay keeps a fallback server out of the first exchange; a client that
    took its lease must still be able to renew (renewals start again at secs 0)."""
    bench.policy("delay:5")
    offer = _reply(bench.handle(request(UNKNOWN, DISCOVER, secs=5))).packet
    # SELECTING: REQUEST with our server id, and secs back at 0 (dhcpcd, udhcpc do this).
    ack = _reply(bench.handle(request(UNKNOWN, REQUEST, secs=0, options={
        50: encode_ip(offer.yiaddr), 54: encode_ip(ip(SERVER_IP))}))).packet
    assert ack.message_type == ACK
    renew = _reply(bench.handle(request(UNKNOWN, REQUEST, secs=0, ciaddr=ack.yiaddr))).packet
    assert renew.message_type == ACK and renew.yiaddr == ack.yiaddr
    # A new client is still kept waiting.
    assert bench.handle(request(OTHER, DISCOVER, secs=1)) == Drop("unknown-mac:delay")


def test_inform_from_an_unknown_mac_under_ignore_is_not_answered(bench: Bench) -> None:
    bench.policy("ignore")
    outcome = bench.handle(request(UNKNOWN, INFORM, ciaddr=ip("198.18.10.77")))
    assert outcome == Drop("unknown-mac:ignore")


def test_a_nak_through_a_relay_has_the_broadcast_bit(bench: Bench) -> None:
    """RFC 2131 4.3.2: the relay must broadcast a DHCPNAK to the client."""
    reply = _reply(bench.handle(request(REGISTERED, REQUEST, giaddr=ip("198.18.10.250"),
                                        flags=0, options={50: encode_ip(ip("198.18.10.99"))})))
    assert reply.packet.message_type == NAK
    assert reply.address == ("198.18.10.250", 67)
    assert reply.packet.flags & 0x8000


def test_a_leased_address_later_given_to_a_port_is_not_renewed(bench: Bench) -> None:
    """A port created with an address a pool client holds: the port wins; the pool
    client is NAKed on renewal and offered another address."""
    address = _lease(bench, UNKNOWN)
    bench.put(make_port(bench.network.id, (bench.subnet.id, "198.18.10.100")))
    assert address == ip("198.18.10.100")
    renew = _reply(bench.handle(request(UNKNOWN, REQUEST, ciaddr=address))).packet
    assert renew.message_type == NAK
    offer = _reply(bench.handle(request(UNKNOWN, DISCOVER))).packet
    assert offer.yiaddr not in (0, address)
