"""Ingestion end to end in process: the machine-facing endpoint (lease check, size limit,
schema, rate limit), enrollment by rules into ports and nodes, the operator's API."""

from __future__ import annotations

import ipaddress
import json
import time
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from metalnet.core.view import BootView
from metalnet.dhcp.leases import LeaseStore
from metalnet.discovery.endpoint import RateLimit, create_discovery_app
from metalnet.discovery.locate import LeaseLocator
from metalnet.discovery.model import DiscoveredMachine
from metalnet.discovery.schema import MAX_BODY
from metalnet.discovery.wiring import ingestor_for
from metalnet.store.discovery import DiscoveryRepo
from metalnet.store.store import Store

MAC = "52:54:00:aa:00:01"
LEASED = "198.18.7.100"


def inventory(mac: str = MAC, vendor: str = "Metalnet Lab", serial: str = "S-1") -> dict[str, Any]:
    return {"version": 1, "boot_mode": "bios", "boot_mac": mac,
            "cpu": {"count": 4}, "memory": {"total_mib": 8192},
            "disks": [{"name": "vda", "size_bytes": 10**9, "serial": "D1"}],
            "nics": [{"name": "eth0", "mac": mac, "link": True}],
            "dmi": {"vendor": vendor, "serial": serial}}


@pytest.fixture
async def site(api_client: httpx.AsyncClient) -> dict[str, Any]:
    network = (await api_client.post("/v2.0/networks", json={"network": {
        "name": "ctl", "provider:physical_network": "ctl", "unknown_mac_policy": "discover"}})
               ).json()["network"]
    await api_client.post("/v2.0/subnets", json={"subnet": {
        "network_id": network["id"], "ip_version": 4, "cidr": "198.18.7.0/24",
        "allocation_pools": [{"start": "198.18.7.100", "end": "198.18.7.199"}]}})
    response = await api_client.post("/v1/boot-profiles", json={"boot_profile": {
        "name": "target", "kernel": "vmlinuz"}})
    assert response.status_code == 201, response.text
    return network  # type: ignore[no-any-return]


@pytest.fixture
def locator(site: dict[str, Any], store: Store, tmp_path: Path) -> Iterator[LeaseLocator]:
    """The view of ``store`` and a lease store in which ``MAC`` holds ``LEASED``."""
    view = BootView()
    view.load(*store.snapshot())
    (subnet,) = view.subnets_of(site["id"])
    leases = LeaseStore(tmp_path / "leases.journal", time.time)
    leases.commit(int(ipaddress.IPv4Address(LEASED)), MAC, subnet.subnet.id, 3600)
    yield LeaseLocator(view, leases, {"ctl"})
    leases.close()


@pytest.fixture
async def machine(store: Store, locator: LeaseLocator) -> AsyncIterator[httpx.AsyncClient]:
    """A client posting from ``LEASED`` to the discovery endpoint."""
    sightings = {MAC: {"mac": MAC, "relay_circuit_id": "72:31", "giaddr": None}}
    app = create_discovery_app(ingestor_for(store), locator, sightings.get,
                               RateLimit(limit=3, window=60))
    transport = httpx.ASGITransport(app=app, client=(LEASED, 68))
    async with httpx.AsyncClient(transport=transport, base_url="http://boot") as client:
        yield client


async def post(client: httpx.AsyncClient, body: Any) -> httpx.Response:
    return await client.post("/v1/discovery", content=json.dumps(body).encode())


async def add_rule(api: httpx.AsyncClient, **rule: Any) -> dict[str, Any]:
    response = await api.post("/v1/enrollment-rules", json={"enrollment_rule": rule})
    assert response.status_code == 201, response.text
    return response.json()["enrollment_rule"]  # type: ignore[no-any-return]


async def test_rule_enrolls_with_port_and_node(
    machine: httpx.AsyncClient, api_client: httpx.AsyncClient, site: dict[str, Any]
) -> None:
    await add_rule(api_client, name="lab", priority=5, conditions=[
        {"field": "dmi.vendor", "op": "eq", "value": "Metalnet Lab"},
        {"field": "sighting.relay_circuit_id_text", "op": "eq", "value": "r1"}],
        actions={"name_template": "n-{dmi.serial}", "boot_profile": "target",
                 "attributes": {"rack": "r1"}})
    response = await post(machine, inventory())
    assert response.status_code == 201, response.text
    answer = response.json()
    assert answer["status"] == "enrolled" and answer["name"] == "n-S-1" and answer["rule"] == "lab"
    ports = (await api_client.get("/v2.0/ports", params={"mac_address": MAC})).json()["ports"]
    assert len(ports) == 1 and ports[0]["network_id"] == site["id"]
    assert ports[0]["boot_profile"] and ports[0]["name"] == "n-S-1"
    shown = (await api_client.get(f"/v1/discovered/{MAC}")).json()["discovered"]
    assert shown["state"] == "enrolled" and shown["attributes"] == {"rack": "r1"}
    assert shown["node_id"]
    node = await api_client.get(f"/v1/nodes/{shown['node_id']}")
    assert node.status_code == 200, node.text

    # Discovering it again updates it: one machine, one port, one node.
    again = await post(machine, inventory(serial="S-1b"))
    assert again.status_code == 200 and again.json()["status"] == "updated"
    listed = (await api_client.get("/v1/discovered")).json()["discovered"]
    assert len(listed) == 1 and listed[0]["reports"] == 2 and listed[0]["serial"] == "S-1b"
    ports = (await api_client.get("/v2.0/ports", params={"mac_address": MAC})).json()["ports"]
    assert len(ports) == 1


async def test_no_rule_leaves_it_discovered_until_an_operator_enrolls(
    machine: httpx.AsyncClient, api_client: httpx.AsyncClient
) -> None:
    await add_rule(api_client, name="dell", conditions=[
        {"field": "dmi.vendor", "op": "eq", "value": "Dell"}], actions={})
    response = await post(machine, inventory())
    assert response.status_code == 201 and response.json()["status"] == "discovered"
    waiting = (await api_client.get("/v1/discovered", params={"state": "discovered"})).json()
    assert [m["boot_mac"] for m in waiting["discovered"]] == [MAC]
    enrolled = await api_client.post(f"/v1/discovered/{MAC}/enroll", json={
        "actions": {"name_template": "manual-1", "boot_profile": "target"}})
    assert enrolled.status_code == 200, enrolled.text
    assert enrolled.json()["discovered"]["state"] == "enrolled"
    again = await api_client.post(f"/v1/discovered/{MAC}/enroll", json={"actions": {}})
    assert again.status_code == 400  # already enrolled
    ports = (await api_client.get("/v2.0/ports", params={"mac_address": MAC})).json()["ports"]
    assert [p["name"] for p in ports] == ["manual-1"]


async def test_failed_enrollment_keeps_the_machine_with_the_reason(
    machine: httpx.AsyncClient, api_client: httpx.AsyncClient
) -> None:
    await add_rule(api_client, name="bad", actions={"boot_profile": "no-such-profile"})
    answer = (await post(machine, inventory())).json()
    assert answer["status"] == "discovered" and "no-such-profile" in answer["error"]
    shown = (await api_client.get(f"/v1/discovered/{MAC}")).json()["discovered"]
    assert "no-such-profile" in shown["attributes"]["enroll_error"]


async def test_known_mac_is_registered_not_enrolled(
    machine: httpx.AsyncClient, api_client: httpx.AsyncClient, site: dict[str, Any]
) -> None:
    await api_client.post("/v2.0/ports", json={"port": {"network_id": site["id"],
                                                        "mac_address": MAC}})
    await add_rule(api_client, name="all", actions={})
    answer = (await post(machine, inventory())).json()
    assert answer["status"] == "registered"
    ports = (await api_client.get("/v2.0/ports", params={"mac_address": MAC})).json()["ports"]
    assert len(ports) == 1


async def test_refusals(machine: httpx.AsyncClient, locator: LeaseLocator, store: Store,
                        site: dict[str, Any]) -> None:
    assert (await machine.post("/v1/discovery", content=b"x" * (MAX_BODY + 1))).status_code == 413
    bad = await post(machine, {**inventory(), "boot_mode": "coreboot"})
    assert bad.status_code == 400 and "boot_mode" in bad.json()["error"]
    other = await post(machine, inventory(mac="52:54:00:aa:00:02"))
    assert other.status_code == 403  # the lease belongs to another MAC
    for _ in range(3):
        assert (await post(machine, inventory())).status_code in (200, 201)
    limited = await post(machine, inventory())
    assert limited.status_code == 429 and limited.headers["retry-after"] == "60"

    unleased = create_discovery_app(ingestor_for(store), locator, lambda _mac: None)
    transport = httpx.ASGITransport(app=unleased, client=("198.18.7.50", 68))
    async with httpx.AsyncClient(transport=transport, base_url="http://boot") as client:
        assert (await post(client, inventory())).status_code == 403


async def test_rule_api_validates_and_orders(api_client: httpx.AsyncClient) -> None:
    await add_rule(api_client, name="b", priority=20)
    await add_rule(api_client, name="a", priority=30)
    names = [r["name"] for r in
             (await api_client.get("/v1/enrollment-rules")).json()["enrollment_rules"]]
    assert names == ["b", "a"]
    bad = await api_client.post("/v1/enrollment-rules", json={"enrollment_rule": {
        "name": "x", "conditions": [{"field": "dmi.vendor", "op": "like", "value": 1}]}})
    assert bad.status_code == 400
    dup = await api_client.post("/v1/enrollment-rules", json={"enrollment_rule": {"name": "a"}})
    assert dup.status_code == 409
    updated = await api_client.put("/v1/enrollment-rules/a", json={"enrollment_rule": {
        "priority": 1, "enabled": False}})
    assert updated.status_code == 200 and updated.json()["enrollment_rule"]["enabled"] is False
    assert (await api_client.delete("/v1/enrollment-rules/a")).status_code == 204
    assert (await api_client.get("/v1/enrollment-rules/a")).status_code == 404


def test_listing_gives_each_machine_its_own_macs(store: Store) -> None:
    """Machines are listed with their MACs in two queries, whatever their number."""
    now = datetime.now(UTC)

    def machine(n: int, state: str) -> DiscoveredMachine:
        macs = (f"52:54:00:bb:{n:02x}:01", f"52:54:00:bb:{n:02x}:02")
        return DiscoveredMachine(id=f"m{n}", state=state, boot_mac=macs[0], macs=macs,
                                 inventory={}, first_seen=now, last_seen=now)

    with store.unit_of_work() as uow:
        repo = DiscoveryRepo(uow.connection)
        for n in range(6):
            repo.add_machine(machine(n, "enrolled" if n % 2 else "discovered"))
        uow.commit()
    with store.unit_of_work(readonly=True) as uow:
        repo = DiscoveryRepo(uow.connection)
        everything = {m.id: m.macs for m in repo.machines()}
        waiting = {m.id: m.macs for m in repo.machines("discovered")}
        one = repo.machine("m3")
    assert everything == {
        f"m{n}": (f"52:54:00:bb:{n:02x}:01", f"52:54:00:bb:{n:02x}:02") for n in range(6)
    }
    assert waiting == {n: everything[n] for n in ("m0", "m2", "m4")}
    assert one is not None and one.macs == ("52:54:00:bb:03:01", "52:54:00:bb:03:02")
