"""allocate_for_instance over an in-memory network API that counts its calls:
registered and just-in-time ports, the cache's savings, faults half way."""

from __future__ import annotations

import copy
import itertools
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import pytest

from metalnet.compute.attach import Attacher, Attachment, DetachFailed, NoPortForNode, PortInUse
from metalnet.compute.cache import NetworkCache
from metalnet.compute.switches import SwitchPort
from metalnet.core.model import Node, NodeMac
from metalnet.errors import MetalnetError, NotFound, PreconditionFailed, Unavailable

Body = dict[str, Any]


@dataclass
class MemoryNetworkApi:
    """A Neutron in a dict: revisions, If-None-Match / If-Match, counted calls.

    ``faults`` maps a method name to the call number (1-based) that fails.
    """

    networks: dict[str, Body] = field(default_factory=dict)
    ports: dict[str, Body] = field(default_factory=dict)
    calls: Counter[str] = field(default_factory=Counter)
    faults: dict[str, int] = field(default_factory=dict)
    _ids: Any = field(default_factory=lambda: itertools.count(1))

    def _call(self, name: str) -> None:
        self.calls[name] += 1
        if self.faults.get(name) == self.calls[name]:
            raise Unavailable(reason=f"injected fault in {name}")

    def show(self, collection: str, resource_id: str, revision: int | None = None) -> Body | None:
        self._call("show")
        found = getattr(self, collection).get(resource_id)
        if found is None:
            raise NotFound(resource=collection, id=resource_id)
        return None if revision == found["revision_number"] else copy.deepcopy(found)

    def find_ports(self, filters: Mapping[str, str]) -> list[Body]:
        self._call("find_ports")
        return [copy.deepcopy(p) for p in self.ports.values()
                if all(p[k] == v for k, v in filters.items())]

    def create_port(self, body: Body) -> Body:
        self._call("create_port")
        port = {"id": f"jit-{next(self._ids)}", "revision_number": 1, "device_id": "",
                "binding:host_id": "", **body}
        self.ports[port["id"]] = port
        return copy.deepcopy(port)

    def update_port(self, port_id: str, body: Body, revision: int | None = None) -> Body:
        self._call("update_port")
        port = self.ports.get(port_id)
        if port is None:
            raise NotFound(resource="port", id=port_id)
        if revision is not None and revision != port["revision_number"]:
            raise PreconditionFailed(expected=revision, current=port["revision_number"])
        port.update(body, revision_number=port["revision_number"] + 1)
        return copy.deepcopy(port)

    def delete_port(self, port_id: str) -> None:
        self._call("delete_port")
        if self.ports.pop(port_id, None) is None:
            raise NotFound(resource="port", id=port_id)

    def add_network(self, network_id: str, vlan: int | None = None) -> None:
        self.networks[network_id] = {
            "id": network_id, "revision_number": 1,
            "provider:network_type": "vlan" if vlan else "flat",
            "provider:physical_network": "tenant" if vlan else "ctl",
            "provider:segmentation_id": vlan}

    def add_port(self, port_id: str, network_id: str, mac: str) -> None:
        self.ports[port_id] = {"id": port_id, "network_id": network_id, "mac_address": mac,
                               "revision_number": 1, "device_id": "", "binding:host_id": ""}


@dataclass
class Switch:
    vlans: dict[str, int] = field(default_factory=dict)
    fail: bool = False

    def bind(self, port: SwitchPort, vlan: int) -> None:
        self.vlans[port.port_id] = vlan
        if self.fail:
            raise Unavailable(reason="injected switch fault")

    def unbind(self, port: SwitchPort, vlan: int) -> None:
        self.vlans.pop(port.port_id, None)


MAC = "52:54:00:00:00:01"
NODE = Node(id="n1", name="n1", macs=(NodeMac(MAC, "sw1", "swp1"),))


@pytest.fixture
def api() -> MemoryNetworkApi:
    api = MemoryNetworkApi()
    api.add_network("ctl")
    api.add_network("prov")
    api.add_network("tenant", vlan=42)
    api.add_port("admin-ctl", "ctl", MAC)
    api.add_port("admin-prov", "prov", MAC)
    return api


def _attacher(api: MemoryNetworkApi, switch: Switch | None = None) -> Attacher:
    return Attacher(NetworkCache(api), {"tenant": switch or Switch()})


def _request(instance: str = "i1") -> Attachment:
    return Attachment(instance, NODE, "hv1", "profile-1")


def _bound(api: MemoryNetworkApi) -> dict[str, str]:
    return {pid: p["device_id"] for pid, p in api.ports.items() if p["device_id"]}


def test_registered_ports_are_bound_and_only_unbound(api: MemoryNetworkApi) -> None:
    attacher = _attacher(api)
    attached = attacher.allocate_for_instance(_request(), ["ctl", "prov"])
    assert [(p.port_id, p.created) for p in attached] == [("admin-ctl", False),
                                                          ("admin-prov", False)]
    port = api.ports["admin-ctl"]
    assert port["device_owner"] == "baremetal:none" and port["binding:host_id"] == "hv1"
    assert port["binding:vnic_type"] == "baremetal" and port["boot_profile"] == "profile-1"
    assert port["binding:profile"] == {"local_link_information": [
        {"switch_id": "sw1", "port_id": "swp1"}]}
    attacher.deallocate_for_instance("i1", attached, "profile-1")
    assert set(api.ports) == {"admin-ctl", "admin-prov"} and _bound(api) == {}
    assert api.ports["admin-ctl"]["boot_profile"] is None


def test_a_virtualised_network_gets_a_port_just_in_time(api: MemoryNetworkApi) -> None:
    switch = Switch()
    attacher = _attacher(api, switch)
    (attached,) = attacher.allocate_for_instance(_request(), ["tenant"])
    assert attached.created and attached.vlan == 42 and attached.switch_port == "swp1"
    assert api.ports[attached.port_id]["mac_address"] == MAC  # the node's real MAC
    assert switch.vlans == {"swp1": 42}
    attacher.deallocate_for_instance("i1", [attached])
    assert attached.port_id not in api.ports and switch.vlans == {}


def test_no_registered_port_names_the_mac_and_the_network(api: MemoryNetworkApi) -> None:
    api.add_network("empty")
    with pytest.raises(NoPortForNode, match=f"network empty.*{MAC}"):
        _attacher(api).allocate_for_instance(_request(), ["empty"])


def test_a_port_bound_elsewhere_is_refused_and_nothing_is_left(api: MemoryNetworkApi) -> None:
    api.ports["admin-prov"]["device_id"] = "someone-else"
    with pytest.raises(PortInUse, match="someone-else"):
        _attacher(api).allocate_for_instance(_request(), ["ctl", "prov"])
    assert _bound(api) == {"admin-prov": "someone-else"}  # ctl was bound, then undone


@pytest.mark.parametrize("fault", ["update_port", "create_port", "switch"])
def test_a_fault_half_way_leaves_no_orphan_port_or_binding(
    api: MemoryNetworkApi, fault: str
) -> None:
    switch = Switch(fail=fault == "switch")
    if fault != "switch":
        api.faults[fault] = 2 if fault == "update_port" else 1
    with pytest.raises(MetalnetError, match="injected"):
        _attacher(api, switch).allocate_for_instance(_request(), ["ctl", "tenant", "prov"])
    assert set(api.ports) == {"admin-ctl", "admin-prov"}
    assert _bound(api) == {} and switch.vlans == {}


def test_an_undo_that_fails_says_what_is_left(api: MemoryNetworkApi) -> None:
    attacher = _attacher(api)
    attached = attacher.allocate_for_instance(_request(), ["ctl", "tenant"])
    api.faults["delete_port"] = api.calls["delete_port"] + 1
    with pytest.raises(DetachFailed, match=attached[1].port_id):
        attacher.deallocate_for_instance("i1", attached)
    assert _bound(api) == {attached[1].port_id: "i1"}  # ctl was still released
    attacher.deallocate_for_instance("i1", attached)  # a retry finishes the job
    assert _bound(api) == {}


def test_a_write_racing_another_writer_is_retried_after_the_412(api: MemoryNetworkApi) -> None:
    original = api.update_port

    def racing(port_id: str, body: Body, revision: int | None = None) -> Body:
        if api.calls["update_port"] == 0:  # another writer gets in between read and write
            api.ports[port_id]["revision_number"] += 1
        return original(port_id, body, revision)

    api.update_port = racing  # type: ignore[method-assign]
    _attacher(api).allocate_for_instance(_request(), ["ctl"])
    assert api.calls["update_port"] == 2 and api.ports["admin-ctl"]["device_id"] == "i1"


def test_the_cache_saves_searches_and_bodies(api: MemoryNetworkApi) -> None:
    """Five spawn/destroy cycles of a node on two networks: without a cache each
    cycle searches the node's MAC once per network and reads each port back before
    unbinding it; with it, one search serves every network of the MAC, later
    look-ups are conditional reads answered 304, and writes refresh the cache."""
    cache = NetworkCache(api)
    attacher = Attacher(cache, {})
    for cycle in range(5):
        attached = attacher.allocate_for_instance(_request(f"i{cycle}"), ["ctl", "prov"])
        attacher.deallocate_for_instance(f"i{cycle}", attached)
    lookups = 5 * 2
    assert api.calls["find_ports"] == 1 == cache.stats.searches
    assert cache.stats.searches_saved == lookups - 1  # per (MAC, network) look-up
    # Networks and ports are revalidated; the 304s are reads whose body was not sent.
    assert cache.stats.not_modified == api.calls["show"] - 2  # all but the first 2 network reads
    assert api.calls["update_port"] == 2 * lookups  # one bind, one unbind each
    saved = cache.stats.searches_saved
    print(f"API calls: {dict(api.calls)}; searches saved: {saved}; "
          f"304s: {cache.stats.not_modified}")
