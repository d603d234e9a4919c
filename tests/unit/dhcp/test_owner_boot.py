"""A node's DHCP answer carries the option set of the hypervisor owning it, and a
takeover (a feed change of the node) changes the answer at once, cache or not."""

from __future__ import annotations

from dataclasses import replace

from metalnet.boot.defaults import boot_defaults_for
from metalnet.core.model import ExtraDhcpOpt, Hypervisor, Node, NodeMac
from metalnet.core.records import Change, to_record
from metalnet.dhcp.engine import Reply
from metalnet.wire.dhcp4.options import encode_client_arch
from tests.unit.dhcp.conftest import REGISTERED, SERVER_IP, Bench, ip, request

HV_A = Hypervisor(id="a", name="hv-a", boot_address="198.18.10.2")
HV_B = Hypervisor(id="b", name="hv-b", boot_address="198.18.10.3",
                  http_boot_url="http://198.18.10.3:9000")
NODE = Node(id="n1", name="n1", macs=(NodeMac(REGISTERED),), effective_owner="hv-a")
BIOS = {93: encode_client_arch(0)}
IPXE = {77: b"iPXE"}


def _setup(bench: Bench) -> None:
    bench.put(replace(bench.port, extra_dhcp_opts=(), revision_number=5))  # no own boot opts
    bench.engine.boot_defaults = boot_defaults_for(8080, bench.view)
    bench.view.apply([Change(bench.view.revision + 1, "hypervisor", "a", to_record(HV_A)),
                      Change(bench.view.revision + 2, "hypervisor", "b", to_record(HV_B)),
                      Change(bench.view.revision + 3, "node", "n1", to_record(NODE))])


def _offer(bench: Bench, options: dict[int, bytes]) -> Reply:
    outcome = bench.handle(request(REGISTERED, 1, options=options))
    assert isinstance(outcome, Reply), outcome
    return outcome


def test_the_answer_points_at_the_owner_and_follows_a_takeover(bench: Bench) -> None:
    _setup(bench)
    offer = _offer(bench, BIOS).packet
    assert offer.siaddr == ip("198.18.10.2") and offer.file == b"undionly.kpxe"
    assert offer.options[66] == b"198.18.10.2"
    assert _offer(bench, IPXE).packet.file == b"http://198.18.10.2:8080/boot.ipxe"

    moved = replace(NODE, effective_owner="hv-b", revision_number=1)
    bench.view.apply([Change(bench.view.revision + 1, "node", "n1", to_record(moved))])
    offer = _offer(bench, BIOS).packet  # the cached answer of hv-a is not reused
    assert offer.siaddr == ip("198.18.10.3") and offer.options[66] == b"198.18.10.3"
    assert _offer(bench, IPXE).packet.file == b"http://198.18.10.3:9000/boot.ipxe"


def test_firmware_and_hypervisor_options_shape_the_set(bench: Bench) -> None:
    _setup(bench)
    uefi = replace(NODE, firmware="uefi", revision_number=1)
    bench.view.apply([Change(bench.view.revision + 1, "node", "n1", to_record(uefi))])
    assert _offer(bench, BIOS).packet.file == b"ipxe.efi"  # forced, whatever option 93 says
    custom = replace(HV_A, revision_number=1, dhcp_opts=(
        ExtraDhcpOpt("server-ip-address", "198.18.10.9"),
        ExtraDhcpOpt("bootfile-name", "custom.efi")))
    bench.view.apply([Change(bench.view.revision + 1, "hypervisor", "a", to_record(custom))])
    offer = _offer(bench, BIOS).packet
    assert offer.siaddr == ip("198.18.10.9") and offer.file == b"custom.efi"


def test_without_an_owner_the_host_answers(bench: Bench) -> None:
    _setup(bench)
    orphan = replace(NODE, effective_owner=None, revision_number=1)
    bench.view.apply([Change(bench.view.revision + 1, "node", "n1", to_record(orphan))])
    assert _offer(bench, BIOS).packet.siaddr == ip(SERVER_IP)
