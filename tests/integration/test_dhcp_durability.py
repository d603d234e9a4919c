"""Dynamic leases survive ``kill -9`` of ``metalnet serve`` (issue 3, items 4 and 5).

A pool lease is ACKed, the server is killed with SIGKILL at once (no clean
shutdown, so only what was fsynced before the ACK left can be there) and started
again on the same state directory: the client's INIT-REBOOT and RENEWING
requests for that address are ACKed, and another client is never given it.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from metalnet.wire.dhcp4.options import encode_ip
from tests.support.netns import (
    DhcpProbe,
    DhcpSite,
    NetnsLab,
    ip_text,
    random_mac,
    request_packet,
    skip_unless_netns,
)

pytestmark = pytest.mark.integration

SERVER = "198.18.10.1"


@pytest.fixture
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DhcpSite]:
    skip_unless_netns()
    with NetnsLab() as lab:
        site = DhcpSite(lab, tmp_path_factory.mktemp("dhcp-durable"), {
            "ctl": ("198.18.10.0/24", "pool")})
        try:
            yield site
            assert site.close() == 0, site.server.log_tail()
        finally:
            site.close()


def test_a_dynamic_lease_survives_kill_9(site: DhcpSite) -> None:
    mac, other, third = random_mac(), random_mac(), random_mac()
    ns, iface = site.client("ctl", mac)
    other_ns, other_iface = site.client("ctl", other)
    third_ns, third_iface = site.client("ctl", third)
    with DhcpProbe(ns, iface) as probe:
        _offer, ack = probe.lease(mac)
    assert ack.message_type == 5
    address = ack.yiaddr
    site.server.kill()  # SIGKILL right after the ACK: no clean shutdown
    site.server.start()

    # Before the owner comes back, another client asks for the address: it is taken.
    with DhcpProbe(other_ns, other_iface) as probe:
        offer = probe.exchange(request_packet(other, 1, options={50: encode_ip(address)}), 3.0)
        assert offer is not None, site.server.log_tail()
        assert offer.yiaddr not in (0, address)
        nak = probe.exchange(request_packet(other, 3, options={50: encode_ip(address)}), 3.0)
        assert nak is not None and nak.message_type == 6  # INIT-REBOOT for it: NAK

    with DhcpProbe(ns, iface) as probe:
        # INIT-REBOOT: 50 set, no 54, no ciaddr, broadcast.
        got = probe.exchange(request_packet(mac, 3, options={50: encode_ip(address)}), 3.0)
        assert got is not None and got.message_type == 5 and got.yiaddr == address
        # RENEWING: ciaddr, unicast from the address.
        site.lab.add_address(ns, iface, f"{ip_text(address)}/24")
        renew = probe.exchange(request_packet(mac, 3, ciaddr=address, flags=0), 3.0,
                               (SERVER, 67))
        assert renew is not None and renew.message_type == 5 and renew.yiaddr == address

    # Once more with two leases on disk: the second client's, ACKed just before the kill.
    with DhcpProbe(other_ns, other_iface) as probe:
        _offer, other_ack = probe.lease(other)
    assert other_ack.message_type == 5 and other_ack.yiaddr != address
    site.server.kill()
    site.server.start()
    with DhcpProbe(third_ns, third_iface) as probe:
        for taken in (address, other_ack.yiaddr):
            nak = probe.exchange(request_packet(third, 3, options={50: encode_ip(taken)}), 3.0)
            assert nak is not None and nak.message_type == 6
    with DhcpProbe(other_ns, other_iface) as probe:
        again = probe.exchange(
            request_packet(other, 3, options={50: encode_ip(other_ack.yiaddr)}), 3.0)
        assert again is not None and again.message_type == 5
        assert again.yiaddr == other_ack.yiaddr
    assert site.server.alive()
