"""Issue 5, "done when": a real DHCP client (busybox udhcpc) in a namespace gets its
owner's next-server before and after an owner takeover.

``metalnet serve`` runs in a server namespace with hypervisors declared dead after
3 s of silence. Two hypervisors heartbeat through the API; a node is spawned onto
the served network (its admin-registered port is bound) and the test waits until
the instance says ``ready`` (the serving view has applied the spawn). udhcpc then
gets the owner's boot address as next-server (siaddr) and TFTP server (option 66).
The owner stops heartbeating; the reconciler moves the node to the other
hypervisor, and udhcpc gets the new owner's boot address.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.netns import (
    DhcpSite,
    NetnsLab,
    Udhcpc,
    random_mac,
    skip_unless_netns,
    wait_until,
)

pytestmark = pytest.mark.integration

BOOT_ADDRESS = {"hv-a": "198.18.20.2", "hv-b": "198.18.20.3"}
DEAD_AFTER = 3


class Heartbeats:
    """Heartbeats the hypervisors in :attr:`beating` every 0.5 s from a thread."""

    def __init__(self, site: DhcpSite) -> None:
        self.site = site
        self.beating = set(BOOT_ADDRESS)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="heartbeats")

    def _run(self) -> None:
        while not self._stop.is_set():
            for name in sorted(self.beating):
                self.site.api.post(f"/v1/hypervisors/{name}/heartbeat")
            self._stop.wait(0.5)

    def __enter__(self) -> Heartbeats:
        self._thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self._stop.set()
        self._thread.join(10)


@pytest.fixture
def site(tmp_path: Path) -> Iterator[DhcpSite]:
    skip_unless_netns("udhcpc")
    with NetnsLab() as lab:
        site = DhcpSite(lab, tmp_path, {"ctl": ("198.18.20.0/24", "ignore")},
                        extra_args=("--hypervisor-dead-after", str(DEAD_AFTER)))
        try:
            yield site
            assert site.server.alive(), site.server.log_tail()
        finally:
            site.close()


def _all_alive(site: DhcpSite) -> bool:
    hypervisors = site.api.get("/v1/hypervisors").json()["hypervisors"]
    return len(hypervisors) == len(BOOT_ADDRESS) and all(h["alive"] for h in hypervisors)


def _owner(site: DhcpSite) -> str | None:
    return site.api.get("/v1/nodes/rack1-n1").json()["node"]["effective_owner"]  # type: ignore[no-any-return]


def test_udhcpc_follows_the_owner_through_a_takeover(site: DhcpSite, tmp_path: Path) -> None:
    for name, address in BOOT_ADDRESS.items():
        response = site.api.post("/v1/hypervisors", json={"hypervisor": {
            "name": name, "boot_address": address, "physical_networks": ["ctl"]}})
        assert response.status_code == 201, response.text
    mac = random_mac()
    port = site.port("ctl", mac, 50)
    response = site.api.post("/v1/nodes", json={"node": {
        "name": "rack1-n1", "macs": [{"mac": mac}], "firmware": "bios"}})
    assert response.status_code == 201, response.text
    assert site.api.post("/v1/nodes/rack1-n1/actions", json={"action": "provide"}).is_success
    ns, iface = site.client("ctl", mac)
    udhcpc = Udhcpc(site.lab, ns, iface, tmp_path)

    with Heartbeats(site) as beats:
        wait_until(lambda: _all_alive(site), 10, what="both hypervisors alive")
        for name in BOOT_ADDRESS:  # a heartbeat reconciles: now with both alive
            assert site.api.post(f"/v1/hypervisors/{name}/heartbeat").is_success
        owner = wait_until(lambda: _owner(site), 10, what="an owner")
        response = site.api.post("/v1/instances", json={"instance": {
            "name": "web", "node": "rack1-n1", "networks": [site.segments["ctl"].network["id"]]}})
        assert response.status_code == 201, response.text
        instance = response.json()["instance"]
        assert instance["ports"][0]["port_id"] == port["id"]
        wait_until(lambda: site.api.get(f"/v1/instances/{instance['id']}").json()
                   ["instance"]["ready"], 10, what="instance ready")

        env = udhcpc.once()
        assert env is not None, site.server.log_tail()
        assert env["ip"] == "198.18.20.50"
        assert env["siaddr"] == BOOT_ADDRESS[owner]  # next-server: the owner's
        assert env["tftp"] == BOOT_ADDRESS[owner]  # option 66
        assert env["boot_file"] == "undionly.kpxe"  # firmware bios

        beats.beating.discard(owner)  # the owner goes silent
        other = next(n for n in BOOT_ADDRESS if n != owner)
        wait_until(lambda: _owner(site) == other, DEAD_AFTER + 10, what="the takeover")
        bound = site.api.get(f"/v2.0/ports/{port['id']}").json()["port"]
        assert bound["binding:host_id"] == other  # the binding followed
        site.sync()  # the DHCP view has applied everything so far

        env = udhcpc.once()
        assert env is not None, site.server.log_tail()
        assert env["siaddr"] == BOOT_ADDRESS[other]
        assert env["tftp"] == BOOT_ADDRESS[other]
