"""Real firmware PXE-boots through metalnet: QEMU (SeaBIOS + Debian's ipxe-qemu NIC ROM,
or OVMF) on a tap in a namespace bridge that ``metalnet serve`` answers.

(b) a registered VM boots its profile straight away; (c) under ``ignore`` an unknown VM
gets no answer and becomes a sighting; (a) an unknown VM on a ``discover`` network boots
the discovery image, posts its inventory, is enrolled by a rule, and on its next boot
boots the profile the rule gave it. Times from power-on are printed (``-s`` shows them).
"""

from __future__ import annotations

import time
from typing import Any

import pytest

from metalnet.wire.dhcp4 import MessageType
from tests.e2e.harness import OVMF_CODE, PxeLab

pytestmark = [pytest.mark.integration, pytest.mark.e2e]

BOOTED = "METALNET-PROFILE-BOOTED"
POSTED = "METALNET-INVENTORY-POSTED"
BOOT_TIMEOUT = 150.0


def _ipxe_path(mac: str) -> str:
    return f"boot/{mac.replace(':', '-')}.ipxe"


def test_registered_vm_boots_its_profile(pxe_lab: PxeLab) -> None:
    lab = pxe_lab
    lab.standard_profiles()
    network = lab.setup_network("ignore")
    mac = "52:54:00:4d:4e:02"
    port = lab.api.create("ports", {"network_id": network["id"], "mac_address": mac,
                                    "name": "vm-b", "boot_profile": "target"})
    address = port["fixed_ips"][0]["ip_address"]

    vm = lab.vm(mac)
    booted = vm.wait_for(BOOTED, BOOT_TIMEOUT)

    acks = lab.replies_to(mac, int(MessageType.ACK))
    assert acks, lab.report("no DHCP ACK to the VM was captured", vm)
    assert any(str(_ip(a.yiaddr)) == address for a in acks), lab.report(
        f"no ACK carried the port's address {address}", vm)
    for path in (_ipxe_path(mac), "vmlinuz", "target.img"):
        assert any(f" {address} " in line for line in lab.fetched(path)), lab.report(
            f"{path} was not fetched over HTTP by {address}", vm)
    assert f"macs={mac}" in vm.console(), lab.report("the marker names another MAC", vm)
    print(f"\n[e2e {lab.accel}] registered VM: power-on -> profile booted {booted:.1f} s")


def test_unknown_vm_is_ignored_and_sighted(pxe_lab: PxeLab) -> None:
    lab = pxe_lab
    lab.setup_network("ignore")
    mac = "52:54:00:4d:4e:03"
    vm = lab.vm(mac)

    def sighted() -> list[dict[str, object]]:
        response = lab.api.get("/v1/sightings", params={"mac": mac})
        return response.json()["sightings"] if response.status_code == 200 else []

    rows = lab.wait(sighted, 90, "the unknown MAC in /v1/sightings", vm)
    discovers = [p for _, p in lab.dhcp(mac) if p.op == 1]
    assert discovers, lab.report("the VM sent no DHCP request", vm)
    time.sleep(3)  # a reply would follow within milliseconds; leave room for a retry
    assert not [p for _, p in lab.dhcp(mac) if p.op == 2], lab.report("the server answered", vm)
    assert rows[0]["policy"] == "ignore"
    assert rows[0]["network_id"] == lab.network["id"]
    assert BOOTED not in vm.console()


def _ip(value: int) -> str:
    return ".".join(str((value >> s) & 0xFF) for s in (24, 16, 8, 0))


LAB_RULE = {
    "name": "lab-vms",
    "priority": 10,
    "conditions": [
        {"field": "dmi.vendor", "op": "eq", "value": "Metalnet Lab"},
        {"field": "disks.serial", "op": "startswith", "value": "MNDISK"},
        {"field": "memory.total_mib", "op": "ge", "value": 256},
        {"field": "network.name", "op": "eq", "value": "ctl"},
    ],
    "actions": {"name_template": "lab-{dmi.serial}", "boot_profile": "target",
                "attributes": {"rack": "lab", "source": "e2e"}},
}


def discover_and_enroll(lab: PxeLab, mac: str, uefi: bool = False) -> dict[str, float]:
    """(a) for one VM: discovery boot, inventory, rule enrollment, then the profile."""
    lab.standard_profiles()
    lab.setup_network("discover", discovery_profile="discovery")
    response = lab.api.post("/v1/enrollment-rules", json={"enrollment_rule": LAB_RULE})
    assert response.status_code == 201, response.text

    vm = lab.vm(mac, uefi=uefi)
    # The agent prints the marker once its post is answered, and the answer comes
    # after the inventory is recorded and the rules have enrolled it (or failed to).
    inventory_at = vm.wait_for(POSTED, BOOT_TIMEOUT)
    found = lab.api.get("/v1/discovered", params={"mac": mac}).json()["discovered"]
    assert len(found) == 1, lab.report(f"/v1/discovered?mac={mac} lists {found}", vm)
    machine: dict[str, Any] = found[0]

    # DHCP: a pool address; boot files: the discovery profile's, fetched by that address.
    acks = lab.replies_to(mac, int(MessageType.ACK))
    assert acks, lab.report("no DHCP ACK to the unknown VM", vm)
    pool_address = _ip(acks[0].yiaddr)
    assert pool_address.startswith(f"198.18.{lab.octet}.1"), pool_address
    for path in (_ipxe_path(mac), "vmlinuz", "discovery.img"):
        assert any(f" {pool_address} " in line for line in lab.fetched(path)), lab.report(
            f"{path} was not fetched by {pool_address}", vm)
    assert "discovery: inventory from" in lab.log()

    # The inventory, and the enrollment the rule made.
    assert machine["state"] == "enrolled", machine
    assert machine["name"] == f"lab-LAB-{mac.replace(':', '')[-6:].upper()}"
    assert machine["attributes"] == {"rack": "lab", "source": "e2e"}
    inventory = machine["inventory"]
    assert isinstance(inventory, dict)
    assert inventory["boot_mode"] == ("uefi" if uefi else "bios")
    assert inventory["dmi"]["vendor"] == "Metalnet Lab"
    assert [n["mac"] for n in inventory["nics"]] == [mac]
    assert inventory["disks"][0]["serial"].startswith("MNDISK")
    assert inventory["disks"][0]["size_bytes"] == 64 * 1024 * 1024
    assert inventory["cpu"]["count"] == 1 and inventory["memory"]["total_mib"] > 256
    ports = lab.api.get("/v2.0/ports", params={"mac_address": mac}).json()["ports"]
    assert len(ports) == 1 and ports[0]["boot_profile"], ports
    port_address = ports[0]["fixed_ips"][0]["ip_address"]
    assert len(lab.api.get("/v1/discovered").json()["discovered"]) == 1

    # Next boot: the registered machine boots the rule's profile.
    time.sleep(1.0)  # the view follows the feed in-process; leave it a moment
    offset = len(vm.console())
    reset_at = time.monotonic()
    vm.reset()
    vm.wait_for(BOOTED, BOOT_TIMEOUT, since=offset)
    profile_at = time.monotonic() - vm.powered_on
    second_boot = time.monotonic() - reset_at
    assert any(f" {port_address} " in line for line in lab.fetched("target.img")), lab.report(
        f"target.img was not fetched by the port's address {port_address}", vm)
    times = {"inventory": inventory_at, "profile": profile_at, "second_boot": second_boot}
    print(f"\n[e2e {lab.accel} {'uefi' if uefi else 'bios'}] unknown VM: power-on -> "
          f"inventory received {inventory_at:.1f} s, -> profile booted {profile_at:.1f} s "
          f"(reset -> profile booted {second_boot:.1f} s)")
    return times


def test_unknown_vm_is_discovered_enrolled_and_boots_its_profile(pxe_lab: PxeLab) -> None:
    discover_and_enroll(pxe_lab, "52:54:00:4d:4e:01")


@pytest.mark.skipif(not OVMF_CODE.exists(), reason="Debian's ovmf is not installed")
def test_uefi_vm_is_discovered_enrolled_and_boots_its_profile(pxe_lab: PxeLab) -> None:
    """The same flow with OVMF: native UEFI PXE -> ipxe.efi over TFTP -> the HTTP script."""
    discover_and_enroll(pxe_lab, "52:54:00:4d:4e:05", uefi=True)
