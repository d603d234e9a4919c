"""``/v1/boot-profiles`` and the boot attributes of ports and networks, over the API."""

from __future__ import annotations

import time
from typing import Any

import httpx
import pytest

from metalnet.api.app import create_app
from metalnet.core.model import Sighting
from tests.conftest import asgi_client
from tests.factories import create_net_and_subnet, create_network, create_port, network_body

URL = "/v1/boot-profiles"


def error_type(response: httpx.Response) -> str:
    return str(response.json()["NeutronError"]["type"])


async def create_profile(client: httpx.AsyncClient, **body: Any) -> dict[str, Any]:
    response = await client.post(URL, json={"boot_profile": body})
    assert response.status_code == 201, response.text
    return dict(response.json()["boot_profile"])


# -- CRUD --------------------------------------------------------------------------------


async def test_create_show_by_id_and_name_list(api_client: httpx.AsyncClient) -> None:
    made = await create_profile(
        api_client, name="deploy", kernel="/images/vmlinuz", initrds=["images/initrd.img"],
        cmdline="console=ttyS0", description="deploy ramdisk",
    )
    assert made["kind"] == "kernel" and made["kernel"] == "images/vmlinuz"
    assert made["initrds"] == ["images/initrd.img"] and made["revision_number"] == 0
    assert made["script"] is None and made["chain_url"] is None and made["created_at"]
    await create_profile(api_client, name="a-menu", chain_url="http://198.18.0.9/menu.ipxe")
    await create_profile(api_client, name="raw", script="#!ipxe\necho hi\n")

    for ref in (made["id"], "deploy"):
        shown = await api_client.get(f"{URL}/{ref}")
        assert shown.status_code == 200 and shown.json()["boot_profile"] == made
    listed = (await api_client.get(URL)).json()["boot_profiles"]
    assert [(p["name"], p["kind"]) for p in listed] == [
        ("a-menu", "chain"), ("deploy", "kernel"), ("raw", "script")]


async def test_update_by_id_and_name(api_client: httpx.AsyncClient) -> None:
    made = await create_profile(api_client, name="deploy", kernel="vmlinuz",
                                initrds=["initrd.img"], cmdline="quiet")
    response = await api_client.put(f"{URL}/deploy", json={"boot_profile": {"cmdline": "debug"}})
    assert response.status_code == 200
    updated = response.json()["boot_profile"]
    assert updated["cmdline"] == "debug" and updated["initrds"] == ["initrd.img"]
    assert updated["revision_number"] == made["revision_number"] + 1
    # A new kind replaces the old one entirely (initrds and cmdline go with the kernel).
    response = await api_client.put(
        f"{URL}/{made['id']}", json={"boot_profile": {"script": "#!ipxe\nexit\n"}})
    swapped = response.json()["boot_profile"]
    assert response.status_code == 200, response.text
    assert (swapped["kind"], swapped["kernel"], swapped["initrds"], swapped["cmdline"]) == (
        "script", None, [], "")
    renamed = await api_client.put(f"{URL}/deploy", json={"boot_profile": {"name": "deploy2"}})
    assert renamed.json()["boot_profile"]["name"] == "deploy2"
    assert (await api_client.get(f"{URL}/deploy")).status_code == 404
    assert (await api_client.get(f"{URL}/deploy2")).status_code == 200


async def test_delete_by_id_and_name(api_client: httpx.AsyncClient) -> None:
    one = await create_profile(api_client, name="one", kernel="k")
    await create_profile(api_client, name="two", kernel="k")
    assert (await api_client.delete(f"{URL}/{one['id']}")).status_code == 204
    assert (await api_client.delete(f"{URL}/two")).status_code == 204
    assert (await api_client.get(URL)).json()["boot_profiles"] == []
    gone = await api_client.delete(f"{URL}/two")
    assert gone.status_code == 404 and error_type(gone) == "BootProfileNotFound"


@pytest.mark.parametrize("body", [
    {"name": "x"},
    {"name": "x", "kernel": "k", "script": "#!ipxe\n"},
    {"name": "x", "kernel": "../k"},
    {"name": "x", "kernel": "k", "initrds": ["/a/../../etc/shadow"]},
    {"name": "x", "kernel": "k\u0000"},
    {"name": "x", "script": "echo no magic"},
    {"name": "x", "script": "#!ipxe\n" + "#" * 65536},
    {"name": "x", "chain_url": "ftp://198.18.0.9/x"},
    {"name": "x", "kernel": "k", "initrds": ["i"] * 17},
    {"name": "x", "kernel": "k", "cmdline": "c" * 4097},
    {"name": "has space", "kernel": "k"},
    {"name": "x", "kernel": "k", "unknown": 1},
    {"name": "x", "kernel": 5},
])
async def test_bad_profiles_are_400(api_client: httpx.AsyncClient, body: dict[str, Any]) -> None:
    response = await api_client.post(URL, json={"boot_profile": body})
    assert response.status_code == 400, response.text
    assert (await api_client.get(URL)).json()["boot_profiles"] == []


@pytest.mark.parametrize("payload", [{}, {"boot_profile": {"name": "x"}, "x": 1}, [], "text"])
async def test_bad_envelopes_are_400(api_client: httpx.AsyncClient, payload: Any) -> None:
    assert (await api_client.post(URL, json=payload)).status_code == 400


async def test_bad_update_leaves_the_profile(api_client: httpx.AsyncClient) -> None:
    made = await create_profile(api_client, name="deploy", kernel="k")
    response = await api_client.put(f"{URL}/deploy", json={"boot_profile": {"kernel": "../x"}})
    assert response.status_code == 400
    assert (await api_client.get(f"{URL}/deploy")).json()["boot_profile"] == made


async def test_duplicate_name_is_409(api_client: httpx.AsyncClient) -> None:
    await create_profile(api_client, name="deploy", kernel="k")
    response = await api_client.post(URL, json={"boot_profile": {"name": "deploy",
                                                                 "chain_url": "http://h/x"}})
    assert response.status_code == 409


async def test_rename_onto_a_taken_name_is_409(api_client: httpx.AsyncClient) -> None:
    await create_profile(api_client, name="deploy", kernel="k")
    await create_profile(api_client, name="other", kernel="k")
    response = await api_client.put(f"{URL}/other", json={"boot_profile": {"name": "deploy"}})
    assert response.status_code == 409


async def test_unknown_profile_is_404(api_client: httpx.AsyncClient) -> None:
    for method in ("GET", "DELETE"):
        response = await api_client.request(method, f"{URL}/nope")
        assert response.status_code == 404 and error_type(response) == "BootProfileNotFound"
    response = await api_client.put(f"{URL}/nope", json={"boot_profile": {"cmdline": "x"}})
    assert response.status_code == 404


# -- in use ------------------------------------------------------------------------------


async def test_profile_in_use_by_a_port_is_409(api_client: httpx.AsyncClient) -> None:
    profile = await create_profile(api_client, name="deploy", kernel="k")
    network, _ = await create_net_and_subnet(api_client)
    port = await create_port(api_client, network["id"], boot_profile="deploy")
    response = await api_client.delete(f"{URL}/deploy")
    assert response.status_code == 409 and error_type(response) == "BootProfileInUse"
    assert (await api_client.get(f"{URL}/{profile['id']}")).status_code == 200
    cleared = await api_client.put(f"/v2.0/ports/{port['id']}",
                                   json={"port": {"boot_profile": None}})
    assert cleared.status_code == 200 and cleared.json()["port"]["boot_profile"] is None
    assert (await api_client.delete(f"{URL}/deploy")).status_code == 204


async def test_profile_in_use_by_a_network_is_409(api_client: httpx.AsyncClient) -> None:
    await create_profile(api_client, name="discovery", kernel="k")
    network = await create_network(api_client, discovery_profile="discovery")
    response = await api_client.delete(f"{URL}/discovery")
    assert response.status_code == 409 and error_type(response) == "BootProfileInUse"
    assert (await api_client.delete(f"/v2.0/networks/{network['id']}")).status_code == 204
    assert (await api_client.delete(f"{URL}/discovery")).status_code == 204


# -- port and network attributes ---------------------------------------------------------


async def test_port_boot_profile_takes_name_or_id_and_shows_the_id(
    api_client: httpx.AsyncClient,
) -> None:
    one = await create_profile(api_client, name="one", kernel="k")
    two = await create_profile(api_client, name="two", chain_url="http://198.18.0.9/x")
    network, _ = await create_net_and_subnet(api_client)
    port = await create_port(api_client, network["id"], boot_profile="one")
    assert port["boot_profile"] == one["id"]
    by_id = await create_port(api_client, network["id"], boot_profile=two["id"])
    assert by_id["boot_profile"] == two["id"]
    plain = await create_port(api_client, network["id"])
    assert plain["boot_profile"] is None
    response = await api_client.put(f"/v2.0/ports/{port['id']}",
                                    json={"port": {"boot_profile": "two"}})
    assert response.status_code == 200 and response.json()["port"]["boot_profile"] == two["id"]
    shown = (await api_client.get(f"/v2.0/ports/{port['id']}")).json()["port"]
    assert shown["boot_profile"] == two["id"]
    # Renaming the profile does not change what the port points at.
    await api_client.put(f"{URL}/two", json={"boot_profile": {"name": "two-renamed"}})
    shown = (await api_client.get(f"/v2.0/ports/{port['id']}")).json()["port"]
    assert shown["boot_profile"] == two["id"]


async def test_unknown_profile_names_on_ports_and_networks_are_404(
    api_client: httpx.AsyncClient,
) -> None:
    network, _ = await create_net_and_subnet(api_client)
    response = await api_client.post("/v2.0/ports", json={"port": {
        "network_id": network["id"], "boot_profile": "nope"}})
    assert response.status_code == 404 and error_type(response) == "BootProfileNotFound"
    assert (await api_client.get("/v2.0/ports")).json()["ports"] == []
    port = await create_port(api_client, network["id"])
    response = await api_client.put(f"/v2.0/ports/{port['id']}",
                                    json={"port": {"boot_profile": "nope"}})
    assert response.status_code == 404 and error_type(response) == "BootProfileNotFound"
    response = await api_client.post("/v2.0/networks", json={"network": network_body(
        discovery_profile="nope")})
    assert response.status_code == 404 and error_type(response) == "BootProfileNotFound"
    response = await api_client.put(f"/v2.0/networks/{network['id']}",
                                    json={"network": {"discovery_profile": "nope"}})
    assert response.status_code == 404


async def test_network_boot_dhcp_opts_and_discovery_profile(
    api_client: httpx.AsyncClient,
) -> None:
    profile = await create_profile(api_client, name="discovery", kernel="k")
    opts = [{"opt_name": "tag:bios,bootfile-name", "opt_value": "pxelinux.0"},
            {"opt_name": "server-ip-address", "opt_value": "198.18.0.2"}]
    network = await create_network(api_client, boot_dhcp_opts=opts, discovery_profile="discovery")
    assert network["discovery_profile"] == profile["id"]
    assert [(o["opt_name"], o["opt_value"]) for o in network["boot_dhcp_opts"]] == [
        ("tag:bios,bootfile-name", "pxelinux.0"), ("server-ip-address", "198.18.0.2")]
    response = await api_client.put(f"/v2.0/networks/{network['id']}", json={"network": {
        "boot_dhcp_opts": [], "discovery_profile": None}})
    assert response.status_code == 200, response.text
    updated = response.json()["network"]
    assert updated["boot_dhcp_opts"] == [] and updated["discovery_profile"] is None
    bad = await api_client.post("/v2.0/networks", json={"network": network_body(
        boot_dhcp_opts=[{"opt_name": "no-such-option", "opt_value": "x"}])})
    assert bad.status_code == 400


# -- the change feed ---------------------------------------------------------------------


async def test_the_feed_carries_profile_and_attribute_changes(store, api_client) -> None:
    start = store.feed.head()
    profile = await create_profile(api_client, name="deploy", kernel="k")
    await api_client.put(f"{URL}/deploy", json={"boot_profile": {"cmdline": "quiet"}})
    network, _ = await create_net_and_subnet(api_client)
    port = await create_port(api_client, network["id"], boot_profile="deploy")
    await api_client.put(f"/v2.0/ports/{port['id']}", json={"port": {"boot_profile": None}})
    await api_client.delete(f"{URL}/deploy")

    changes = store.feed.changes_since(start)
    mine = [c for c in changes if c.kind == "boot_profile"]
    assert [c.resource_id for c in mine] == [profile["id"]] * 3
    assert mine[0].body["kernel"] == "k" and mine[1].body["cmdline"] == "quiet"
    assert mine[2].body is None  # deleted
    assert [c.revision for c in changes] == sorted(c.revision for c in changes)
    port_changes = [c for c in changes if c.kind == "port" and c.resource_id == port["id"]]
    assert [c.body["boot_profile_id"] for c in port_changes] == [profile["id"], None]


# -- authorization -----------------------------------------------------------------------


@pytest.fixture
async def token_clients(store):
    """(admin, member) clients of a token-auth app."""
    app = create_app(store, noauth=False)
    admin, member = asgi_client(app), asgi_client(app)
    admin.headers["X-Auth-Token"] = store.tokens.create("ops", True)[1]
    member.headers["X-Auth-Token"] = store.tokens.create("tenant", False)[1]
    async with admin, member:
        yield admin, member


async def test_only_admins_write_profiles_everyone_reads(token_clients) -> None:
    admin, member = token_clients
    denied = await member.post(URL, json={"boot_profile": {"name": "x", "kernel": "k"}})
    assert denied.status_code == 403 and error_type(denied) == "PolicyNotAuthorized"
    made = await create_profile(admin, name="deploy", kernel="k")
    assert (await member.get(URL)).json()["boot_profiles"][0]["id"] == made["id"]
    assert (await member.get(f"{URL}/deploy")).status_code == 200
    update = await member.put(f"{URL}/deploy", json={"boot_profile": {"cmdline": "evil"}})
    assert update.status_code == 403
    assert (await member.delete(f"{URL}/deploy")).status_code == 403
    assert (await admin.get(f"{URL}/deploy")).json()["boot_profile"] == made
    anonymous = await member.get(URL, headers={"X-Auth-Token": "forged"})
    assert anonymous.status_code == 401


async def test_boot_attributes_of_ports_and_networks_are_admin_only(token_clients) -> None:
    admin, member = token_clients
    await create_profile(admin, name="deploy", kernel="k")
    network = (await member.post("/v2.0/networks", json={"network": network_body()})).json()[
        "network"]
    denied = await member.post("/v2.0/ports", json={"port": {
        "network_id": network["id"], "boot_profile": "deploy"}})
    assert denied.status_code == 403 and error_type(denied) == "PolicyNotAuthorized"
    port = (await member.post("/v2.0/ports", json={"port": {"network_id": network["id"]}}))
    assert port.status_code == 201
    denied = await member.put(f"/v2.0/ports/{port.json()['port']['id']}",
                              json={"port": {"boot_profile": "deploy"}})
    assert denied.status_code == 403
    allowed = await admin.put(f"/v2.0/ports/{port.json()['port']['id']}",
                              json={"port": {"boot_profile": "deploy"}})
    assert allowed.status_code == 200, allowed.text
    for body in ({"discovery_profile": "deploy"},
                 {"boot_dhcp_opts": [{"opt_name": "bootfile-name", "opt_value": "x"}]}):
        denied = await member.put(f"/v2.0/networks/{network['id']}", json={"network": body})
        assert denied.status_code == 403


# -- sightings ---------------------------------------------------------------------------


async def test_sightings_list_and_filter(store, api_client) -> None:
    now = time.time()
    store.sightings.save([
        Sighting("52:54:00:00:00:0a", None, now - 60, now - 10, 3, "PXEClient:Arch:00000",
                 0, None, None, None, None, "ignore"),
        Sighting("52:54:00:00:00:0b", None, now - 5, now, 1, None, 7, "iPXE", None, None, None,
                 "ignore"),
    ])
    listed = (await api_client.get("/v1/sightings")).json()["sightings"]
    assert [s["mac"] for s in listed] == ["52:54:00:00:00:0b", "52:54:00:00:00:0a"]
    one = (await api_client.get("/v1/sightings", params={"mac": "52-54-00-00-00-0A"})).json()
    assert [(s["mac"], s["count"]) for s in one["sightings"]] == [("52:54:00:00:00:0a", 3)]
    bad = await api_client.get("/v1/sightings", params={"mac": "52:54:00"})
    assert bad.status_code == 400 and "not a MAC address" in bad.text
