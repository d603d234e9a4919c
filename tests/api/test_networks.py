"""Networks over the API: provider attributes, mtu, unknown_mac_policy, revisions, deletion."""

from __future__ import annotations

import re

import pytest

from tests.factories import create_network, create_port, create_subnet, network_body

TIMESTAMP = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")


async def post_network(client, **body):
    return await client.post("/v2.0/networks", json={"network": network_body(**body)})


async def test_defaults_and_standard_attributes(api_client):
    net = await create_network(api_client, name="prov", tags=["rack1"])
    assert net["name"] == "prov" and net["tags"] == ["rack1"]
    assert net["project_id"] == net["tenant_id"] == "admin"
    assert net["provider:network_type"] == "flat"
    assert net["provider:physical_network"] is None and net["provider:segmentation_id"] is None
    assert net["unknown_mac_policy"] == "ignore"
    assert (net["mtu"], net["shared"], net["admin_state_up"], net["status"]) == (
        1500,
        False,
        True,
        "ACTIVE",
    )
    assert net["subnets"] == [] and net["revision_number"] == 0
    assert TIMESTAMP.match(net["created_at"]) and TIMESTAMP.match(net["updated_at"])


@pytest.mark.parametrize(
    "body",
    [
        {"provider:network_type": "flat", "provider:physical_network": "physnet1"},
        {
            "provider:network_type": "vlan",
            "provider:physical_network": "physnet1",
            "provider:segmentation_id": 1,
        },
        {"provider:network_type": "vlan", "provider:segmentation_id": 4094},
        {"mtu": 68},
        {"mtu": 9000},
        {"mtu": 65535},
        {"shared": True},
        {"unknown_mac_policy": "pool"},
        {"unknown_mac_policy": "discover"},
        {"unknown_mac_policy": "proxy"},
        {"unknown_mac_policy": "delay:5"},
        {"unknown_mac_policy": "ignore"},
    ],
)
async def test_valid_bodies(api_client, body):
    response = await post_network(api_client, **body)
    assert response.status_code == 201, response.text
    for key, value in body.items():
        assert response.json()["network"][key] == value


@pytest.mark.parametrize(
    "body",
    [
        {"provider:network_type": "vxlan"},
        {"provider:network_type": "vlan"},
        {"provider:network_type": "vlan", "provider:segmentation_id": 0},
        {"provider:network_type": "vlan", "provider:segmentation_id": 4095},
        {"provider:network_type": "flat", "provider:segmentation_id": 5},
        {"mtu": 67},
        {"mtu": 65536},
        {"mtu": -1},
        {"mtu": "big"},
        {"mtu": 1500.5},
        {"unknown_mac_policy": "drop"},
        {"unknown_mac_policy": "delay"},
        {"unknown_mac_policy": "delay:0"},
        {"unknown_mac_policy": "delay:x"},
        {"unknown_mac_policy": "pool:1"},
        {"unknown_mac_policy": ""},
        {"shared": "perhaps"},
        {"tags": ["a,b"]},
        {"router:external": True},
    ],
)
async def test_invalid_bodies_are_400(api_client, body):
    response = await post_network(api_client, **body)
    assert response.status_code == 400, response.text
    assert response.json()["NeutronError"]["type"] in {"BadRequest", "InvalidInput"}


async def test_policy_is_stored_canonically(api_client):
    response = await post_network(api_client, unknown_mac_policy="Delay:7")
    assert response.json()["network"]["unknown_mac_policy"] == "delay:7"


async def test_tenant_id_is_an_alias_of_project_id(api_client):
    response = await post_network(api_client, tenant_id="p7")
    assert response.json()["network"]["project_id"] == "p7"
    response = await post_network(api_client, tenant_id="p7", project_id="p8")
    assert response.status_code == 400
    listed = await api_client.get("/v2.0/networks", params={"tenant_id": "p7"})
    assert [n["project_id"] for n in listed.json()["networks"]] == ["p7"]


async def test_update_bumps_revision_and_updated_at(api_client):
    net = await create_network(api_client)
    response = await api_client.put(
        f"/v2.0/networks/{net['id']}", json={"network": {"name": "renamed", "mtu": 9000}}
    )
    assert response.status_code == 200
    updated = response.json()["network"]
    assert (updated["name"], updated["mtu"], updated["revision_number"]) == ("renamed", 9000, 1)
    assert updated["created_at"] == net["created_at"]
    assert updated["updated_at"] >= net["updated_at"]
    again = await api_client.put(
        f"/v2.0/networks/{net['id']}", json={"network": {"unknown_mac_policy": "pool"}}
    )
    assert again.json()["network"]["revision_number"] == 2
    shown = await api_client.get(f"/v2.0/networks/{net['id']}")
    assert shown.json()["network"] == again.json()["network"]


async def test_update_validates_like_create(api_client):
    net = await create_network(api_client)
    for change in ({"mtu": 1}, {"unknown_mac_policy": "bogus"}, {"provider:segmentation_id": 5}):
        response = await api_client.put(f"/v2.0/networks/{net['id']}", json={"network": change})
        assert response.status_code == 400, (change, response.text)
    shown = await api_client.get(f"/v2.0/networks/{net['id']}")
    assert shown.json()["network"]["revision_number"] == 0


async def test_subnets_are_listed_on_the_network(api_client):
    net = await create_network(api_client)
    a = await create_subnet(api_client, net["id"], cidr="198.18.0.0/24")
    b = await create_subnet(api_client, net["id"], cidr="198.18.1.0/24")
    shown = await api_client.get(f"/v2.0/networks/{net['id']}")
    assert sorted(shown.json()["network"]["subnets"]) == sorted([a["id"], b["id"]])


async def test_delete_with_ports_is_409_and_without_cascades_subnets(api_client):
    net = await create_network(api_client)
    subnet = await create_subnet(api_client, net["id"])
    port = await create_port(api_client, net["id"])
    response = await api_client.delete(f"/v2.0/networks/{net['id']}")
    assert response.status_code == 409
    assert response.json()["NeutronError"]["type"] == "NetworkInUse"
    assert (await api_client.delete(f"/v2.0/ports/{port['id']}")).status_code == 204
    assert (await api_client.delete(f"/v2.0/networks/{net['id']}")).status_code == 204
    assert (await api_client.get(f"/v2.0/subnets/{subnet['id']}")).status_code == 404
    response = await api_client.get(f"/v2.0/networks/{net['id']}")
    assert response.status_code == 404
    assert response.json()["NeutronError"]["type"] == "NetworkNotFound"
    assert (await api_client.delete(f"/v2.0/networks/{net['id']}")).status_code == 404
