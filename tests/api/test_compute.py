"""``/v1/hypervisors``, ``/v1/nodes`` and ``/v1/instances`` over SQLite and PostgreSQL:
ownership and takeover, the state machine, spawn and destroy on registered and
just-in-time ports, readiness, two spawns of one node, and faults half way."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from metalnet.api.app import create_app
from metalnet.boot.machine_files import MachineFiles
from metalnet.compute.config import ComputeConfig
from metalnet.compute.switches import SwitchError, SwitchPort
from metalnet.core.view import BootView
from metalnet.store.store import Store
from tests.conftest import asgi_client
from tests.factories import create_network, create_port, create_subnet, unique_mac

DEAD_AFTER = 30.0


class Clock:
    """The API's clock, moved by the test."""

    def __init__(self) -> None:
        self.now = datetime(2026, 1, 11, 3, 7, 22, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


@dataclass
class RecordingSwitch:
    """A switch driver that remembers each port's VLAN; ``fail_bind`` injects a fault."""

    vlans: dict[str, int] = field(default_factory=dict)
    calls: list[tuple[str, str, int]] = field(default_factory=list)
    fail_bind: bool = False

    def bind(self, port: SwitchPort, vlan: int) -> None:
        self.calls.append(("bind", port.port_id, vlan))
        self.vlans[port.port_id] = vlan
        if self.fail_bind:
            raise SwitchError(switch="test", reason="injected fault")

    def unbind(self, port: SwitchPort, vlan: int) -> None:
        self.calls.append(("unbind", port.port_id, vlan))
        self.vlans.pop(port.port_id, None)


@dataclass
class Site:
    client: httpx.AsyncClient
    clock: Clock
    switch: RecordingSwitch
    view: BootView
    store: Store

    async def post(self, path: str, body: Any, status: int = 201) -> dict[str, Any]:
        response = await self.client.post(path, json=body)
        assert response.status_code == status, response.text
        return response.json() if response.content else {}

    async def get(self, path: str) -> dict[str, Any]:
        response = await self.client.get(path)
        assert response.status_code == 200, response.text
        return response.json()  # type: ignore[no-any-return]

    async def hypervisor(self, name: str, address: str, **extra: Any) -> dict[str, Any]:
        body = {"name": name, "boot_address": address, **extra}
        return (await self.post("/v1/hypervisors", {"hypervisor": body}))["hypervisor"]

    async def beat(self, name: str, view_revision: int = 0) -> dict[str, Any]:
        body = {"heartbeat": {"view_revision": view_revision}}
        return (await self.post(f"/v1/hypervisors/{name}/heartbeat", body, 200))["hypervisor"]

    async def node(self, name: str, *macs: dict[str, Any], **extra: Any) -> dict[str, Any]:
        body = {"name": name, "macs": list(macs), **extra}
        return (await self.post("/v1/nodes", {"node": body}))["node"]

    async def act(self, node: str, action: str, status: int = 200) -> dict[str, Any]:
        return await self.post(f"/v1/nodes/{node}/actions", {"action": action}, status)

    async def show_node(self, name: str) -> dict[str, Any]:
        return (await self.get(f"/v1/nodes/{name}"))["node"]

    async def port(self, port_id: str) -> dict[str, Any]:
        return (await self.get(f"/v2.0/ports/{port_id}"))["port"]

    def catch_up(self) -> None:
        """The view applies everything committed so far (what the feed follower does)."""
        self.view.apply(self.store.feed.changes_since(self.view.revision))


@pytest.fixture
async def site(store_backend: Store) -> AsyncIterator[Site]:
    clock, switch, view = Clock(), RecordingSwitch(), BootView()
    view.load(*store_backend.snapshot())
    config = ComputeConfig(dead_after=DEAD_AFTER, switches={"tenant": switch}, clock=clock)
    app = create_app(store_backend, noauth=True, compute=config, view=view)
    async with asgi_client(app) as client:
        yield Site(client, clock, switch, view, store_backend)


def _mac(**extra: Any) -> dict[str, Any]:
    return {"mac": unique_mac(), **extra}


# -- hypervisors and ownership ------------------------------------------------------------


async def test_a_hypervisor_is_alive_while_it_heartbeats(site: Site) -> None:
    created = await site.hypervisor("hv1", "198.18.0.2", http_boot_url="http://198.18.0.2:8080/",
                                    physical_networks=["ctl"])
    assert created["alive"] is False and created["last_heartbeat"] is None
    assert created["http_boot_url"] == "http://198.18.0.2:8080"
    beat = await site.beat("hv1", view_revision=7)
    assert beat["alive"] is True and beat["view_revision"] == 7
    site.clock.advance(DEAD_AFTER + 1)
    assert (await site.get("/v1/hypervisors/hv1"))["hypervisor"]["alive"] is False
    listed = (await site.get("/v1/hypervisors"))["hypervisors"]
    assert [h["name"] for h in listed] == ["hv1"]


async def test_hypervisor_names_are_permanent_and_unique(site: Site) -> None:
    await site.hypervisor("hv1", "198.18.0.2")
    await site.post("/v1/hypervisors", {"hypervisor": {"name": "hv1", "boot_address":
                                                        "198.18.0.3"}}, 409)
    response = await site.client.put("/v1/hypervisors/hv1", json={"hypervisor": {"name": "x"}})
    assert response.status_code == 400
    await site.post("/v1/hypervisors", {"hypervisor": {"name": "hv2", "boot_address":
                                                        "not-an-ip"}}, 400)


async def test_show_answers_304_for_the_revision_the_caller_holds(site: Site) -> None:
    await site.hypervisor("hv1", "198.18.0.2")
    first = await site.client.get("/v1/hypervisors/hv1")
    again = await site.client.get("/v1/hypervisors/hv1",
                                  headers={"If-None-Match": first.headers["etag"]})
    assert again.status_code == 304


async def test_nodes_move_to_live_hypervisors_in_one_commit(site: Site) -> None:
    await site.hypervisor("hv1", "198.18.0.2")
    await site.hypervisor("hv2", "198.18.0.3")
    names = [f"n{i}" for i in range(12)]
    for name in names:
        await site.node(name, _mac())
    assert {(await site.show_node(n))["effective_owner"] for n in names} == {None}
    await site.beat("hv1")
    await site.beat("hv2")
    owners = {n: (await site.show_node(n))["effective_owner"] for n in names}
    assert set(owners.values()) == {"hv1", "hv2"}
    site.catch_up()
    before = site.view.revision
    site.clock.advance(DEAD_AFTER - 1)
    await site.beat("hv2")  # hv1 said nothing for DEAD_AFTER - 1 seconds: still alive
    site.clock.advance(2)
    await site.beat("hv2")  # now hv1 is dead: its nodes move, in this heartbeat's commit
    moved = [c for c in site.store.feed.changes_since(before) if c.kind == "node"]
    assert {c.body["name"] for c in moved if c.body} == {n for n, o in owners.items()
                                                         if o == "hv1"}
    revisions = [c.revision for c in moved]
    assert revisions == list(range(revisions[0], revisions[0] + len(revisions)))
    for name in names:
        assert (await site.show_node(name))["effective_owner"] == "hv2"
    await site.beat("hv1")  # back: it takes its nodes back (the ring is stable)
    assert {n: (await site.show_node(n))["effective_owner"] for n in names} == owners


async def test_a_pinned_owner_is_kept_even_when_dead(site: Site) -> None:
    await site.hypervisor("hv1", "198.18.0.2")
    await site.hypervisor("hv2", "198.18.0.3")
    await site.beat("hv2")
    node = await site.node("pinned", _mac(), owner="hv1")
    assert node["owner"] == "hv1" and node["effective_owner"] == "hv1"
    response = await site.client.delete("/v1/hypervisors/hv1")
    assert response.status_code == 409  # nodes are pinned to it
    response = await site.client.put("/v1/nodes/pinned", json={"node": {"owner": None}})
    assert response.json()["node"]["effective_owner"] == "hv2"


async def test_hypervisors_serve_their_physical_networks(site: Site) -> None:
    network = await create_network(site.client, **{"provider:physical_network": "ctl"})
    await site.hypervisor("ctl-host", "198.18.0.2", physical_networks=["ctl"])
    await site.hypervisor("other-host", "198.18.0.3", physical_networks=["storage"])
    await site.beat("ctl-host")
    await site.beat("other-host")
    for i in range(6):
        mac = _mac()
        await create_port(site.client, network["id"], mac_address=mac["mac"])
        node = await site.node(f"n{i}", mac)
        assert node["effective_owner"] == "ctl-host"


# -- the node state machine ------------------------------------------------------------------


async def test_state_actions_follow_the_table(site: Site) -> None:
    node = await site.node("n1", _mac())
    assert node["state"] == "enrolled"
    assert (await site.act("n1", "provide"))["node"]["state"] == "available"
    conflict = await site.act("n1", "provide", 409)
    assert conflict["NeutronError"]["type"] == "InvalidStateTransition"
    assert (await site.act("n1", "manage"))["node"]["state"] == "enrolled"
    bad = await site.act("n1", "deploy", 400)  # spawn's, not the operator's
    assert "not one of manage, provide" in bad["NeutronError"]["message"]


async def test_a_mac_belongs_to_one_node(site: Site) -> None:
    mac = _mac()
    await site.node("n1", mac)
    await site.post("/v1/nodes", {"node": {"name": "n2", "macs": [mac]}}, 409)
    await site.post("/v1/nodes", {"node": {"name": "n3", "macs": [{"mac": "nope"}]}}, 400)
    await site.post("/v1/nodes", {"node": {"name": "n4", "firmware": "coreboot"}}, 400)


# -- spawn and destroy -----------------------------------------------------------------------


async def _ready_node(site: Site, name: str, *macs: dict[str, Any]) -> dict[str, Any]:
    await site.node(name, *macs)
    return (await site.act(name, "provide"))["node"]  # type: ignore[no-any-return]


async def _flat_network(site: Site) -> dict[str, Any]:
    network = await create_network(site.client, **{"provider:physical_network": "ctl"})
    await create_subnet(site.client, network["id"])
    return network


async def _vlan_network(site: Site, vlan: int = 100) -> dict[str, Any]:
    network = await create_network(site.client, **{
        "provider:physical_network": "tenant", "provider:network_type": "vlan",
        "provider:segmentation_id": vlan})
    await create_subnet(site.client, network["id"], cidr="198.19.0.0/24")
    return network


async def _profile(site: Site) -> dict[str, Any]:
    body = {"boot_profile": {"name": "deploy", "kernel": "vmlinuz", "initrds": ["initrd"]}}
    return (await site.post("/v1/boot-profiles", body))["boot_profile"]


async def test_spawn_binds_the_registered_port_and_destroy_only_unbinds_it(site: Site) -> None:
    await site.hypervisor("hv1", "198.18.0.2")
    await site.beat("hv1")
    network, profile, mac = await _flat_network(site), await _profile(site), _mac()
    admin_port = await create_port(site.client, network["id"], mac_address=mac["mac"])
    await _ready_node(site, "n1", mac)
    instance = (await site.post("/v1/instances", {"instance": {
        "name": "web", "node": "n1", "networks": [network["id"]],
        "boot_profile": "deploy"}}))["instance"]
    assert instance["status"] == "active"
    assert instance["ports"] == [{
        "port_id": admin_port["id"], "network_id": network["id"], "mac": mac["mac"],
        "created": False, "physical_network": None, "switch_id": None, "switch_port": None,
        "vlan": None}]
    assert instance["ready"] is False  # the DHCP view has not applied it yet
    port = await site.port(admin_port["id"])
    assert port["device_id"] == instance["id"]
    assert port["device_owner"] == "baremetal:none"
    assert port["binding:host_id"] == "hv1"
    assert port["binding:vnic_type"] == "baremetal"
    assert port["boot_profile"] == profile["id"]
    assert port["mac_address"] == mac["mac"] and port["fixed_ips"]
    node = await site.show_node("n1")
    assert node["state"] == "active" and node["instance_id"] == instance["id"]

    site.catch_up()
    shown = (await site.get(f"/v1/instances/{instance['id']}"))["instance"]
    assert shown["ready"] is True and shown["view_revision"] >= shown["ready_revision"]
    script = f"boot/{mac['mac']}.ipxe"
    assert b"vmlinuz" in (MachineFiles(site.view).render(script) or b"")  # its boot file

    response = await site.client.delete(f"/v1/instances/{instance['id']}")
    assert response.status_code == 204
    port = await site.port(admin_port["id"])  # the port outlives the instance
    assert port["device_id"] == "" and port["binding:host_id"] == ""
    assert port["boot_profile"] is None  # so its boot files are gone
    site.catch_up()
    assert b"vmlinuz" not in (MachineFiles(site.view).render(script) or b"")
    node = await site.show_node("n1")
    assert node["state"] == "available" and node["instance_id"] is None
    assert (await site.client.get(f"/v1/instances/{instance['id']}")).status_code == 404


async def test_spawn_without_a_registered_port_names_the_mac_and_network(site: Site) -> None:
    network, mac = await _flat_network(site), _mac()
    await _ready_node(site, "n1", mac)
    body = {"instance": {"node": "n1", "networks": [network["id"]]}}
    error = (await site.post("/v1/instances", body, 404))["NeutronError"]
    assert error["type"] == "NoPortForNode"
    assert mac["mac"] in error["message"] and network["id"] in error["message"]
    assert (await site.show_node("n1"))["state"] == "available"  # nothing was left
    assert (await site.get("/v1/instances"))["instances"] == []


async def test_a_virtualised_network_gets_a_port_just_in_time(site: Site) -> None:
    await site.hypervisor("hv1", "198.18.0.2")
    await site.beat("hv1")
    network = await _vlan_network(site, vlan=100)
    mac = _mac(switch_id="br0", port_id="swp7")
    await _ready_node(site, "n1", mac)
    instance = (await site.post("/v1/instances", {"instance": {
        "node": "n1", "networks": [network["id"]]}}))["instance"]
    (attached,) = instance["ports"]
    assert attached["created"] is True and attached["vlan"] == 100
    port = await site.port(attached["port_id"])
    assert port["mac_address"] == mac["mac"]  # the node's real MAC
    assert port["binding:profile"] == {
        "local_link_information": [{"switch_id": "br0", "port_id": "swp7"}]}
    assert site.switch.vlans == {"swp7": 100}
    response = await site.client.delete(f"/v1/instances/{instance['id']}")
    assert response.status_code == 204
    assert (await site.client.get(f"/v2.0/ports/{attached['port_id']}")).status_code == 404
    assert site.switch.vlans == {}


async def test_two_spawns_of_one_node_one_wins(site: Site) -> None:
    network, mac = await _flat_network(site), _mac()
    await create_port(site.client, network["id"], mac_address=mac["mac"])
    await _ready_node(site, "n1", mac)
    body = {"instance": {"node": "n1", "networks": [network["id"]]}}
    first, second = await asyncio.gather(
        site.client.post("/v1/instances", json=body), site.client.post("/v1/instances", json=body)
    )
    assert sorted([first.status_code, second.status_code]) == [201, 409], (first.text,
                                                                          second.text)
    assert len((await site.get("/v1/instances"))["instances"]) == 1


async def test_a_spawn_failing_half_way_leaves_no_port_or_binding(site: Site) -> None:
    flat, vlan = await _flat_network(site), await _vlan_network(site)
    mac = _mac(switch_id="br0", port_id="swp1")
    admin_port = await create_port(site.client, flat["id"], mac_address=mac["mac"])
    await _ready_node(site, "n1", mac)
    site.switch.fail_bind = True
    body = {"instance": {"node": "n1", "networks": [flat["id"], vlan["id"]]}}
    error = (await site.post("/v1/instances", body, 503))["NeutronError"]
    assert "injected fault" in error["message"]
    port = await site.port(admin_port["id"])
    assert port["device_id"] == "" and port["binding:host_id"] == ""
    assert (await site.get(f"/v2.0/ports?network_id={vlan['id']}"))["ports"] == []
    assert site.switch.vlans == {}  # the half-done bind was undone too
    assert (await site.show_node("n1"))["state"] == "available"
    site.switch.fail_bind = False
    await site.post("/v1/instances", body)  # and the node can be spawned again


async def test_a_node_with_an_instance_cannot_be_deleted_or_recabled(site: Site) -> None:
    network, mac = await _flat_network(site), _mac()
    await create_port(site.client, network["id"], mac_address=mac["mac"])
    await _ready_node(site, "n1", mac)
    await site.post("/v1/instances", {"instance": {"node": "n1", "networks": [network["id"]]}})
    assert (await site.client.delete("/v1/nodes/n1")).status_code == 409
    response = await site.client.put("/v1/nodes/n1", json={"node": {"macs": [_mac()]}})
    assert response.status_code == 409
