"""Subnets over the API: cidr, gateway, pools, nameservers, routes, overlap, deletion."""

from __future__ import annotations

import pytest

from tests.factories import create_net_and_subnet, create_network, create_port, subnet_body


@pytest.fixture
async def network(api_client):
    return await create_network(api_client)


async def post_subnet(client, network_id, **body):
    return await client.post("/v2.0/subnets", json={"subnet": subnet_body(network_id, **body)})


async def test_defaults(api_client, network):
    response = await post_subnet(api_client, network["id"], cidr="198.18.0.0/24")
    assert response.status_code == 201
    subnet = response.json()["subnet"]
    assert subnet["gateway_ip"] == "198.18.0.1"
    assert subnet["allocation_pools"] == [{"start": "198.18.0.2", "end": "198.18.0.254"}]
    assert subnet["ip_version"] == 4 and subnet["enable_dhcp"] is True
    assert subnet["dns_nameservers"] == [] and subnet["host_routes"] == []


async def test_cidr_is_normalized_and_gateway_may_be_null(api_client, network):
    response = await post_subnet(api_client, network["id"], cidr="198.18.0.77/24", gateway_ip=None)
    subnet = response.json()["subnet"]
    assert subnet["cidr"] == "198.18.0.0/24" and subnet["gateway_ip"] is None
    assert subnet["allocation_pools"] == [{"start": "198.18.0.1", "end": "198.18.0.254"}]


async def test_gateway_in_the_middle_splits_the_default_pool(api_client, network):
    response = await post_subnet(
        api_client, network["id"], cidr="198.18.0.0/28", gateway_ip="198.18.0.8"
    )
    assert response.json()["subnet"]["allocation_pools"] == [
        {"start": "198.18.0.1", "end": "198.18.0.7"},
        {"start": "198.18.0.9", "end": "198.18.0.14"},
    ]


async def test_explicit_pools_nameservers_and_routes(api_client, network):
    body = {
        "allocation_pools": [
            {"start": "198.18.0.100", "end": "198.18.0.110"},
            {"start": "198.18.0.10", "end": "198.18.0.20"},
        ],
        "dns_nameservers": ["198.18.0.53", "198.18.1.53"],
        "host_routes": [{"destination": "10.0.0.0/8", "nexthop": "198.18.0.254"}],
        "enable_dhcp": False,
    }
    response = await post_subnet(api_client, network["id"], **body)
    assert response.status_code == 201, response.text
    subnet = response.json()["subnet"]
    for key, value in body.items():
        assert subnet[key] == value


@pytest.mark.parametrize(
    "body",
    [
        {"ip_version": 6, "cidr": "2001:db8::/64"},
        {"cidr": "2001:db8::/64"},
        {"ip_version": 6},
        {"cidr": "not-a-cidr"},
        {"cidr": "198.18.0.0/31"},
        {"gateway_ip": "10.0.0.1"},
        {"gateway_ip": "198.18.0.0"},
        {"gateway_ip": "198.18.0.255"},
        {"gateway_ip": "2001:db8::1"},
        {"allocation_pools": [{"start": "198.18.0.10", "end": "198.18.1.5"}]},
        {"allocation_pools": [{"start": "198.18.0.20", "end": "198.18.0.10"}]},
        {"allocation_pools": [{"start": "198.18.0.0", "end": "198.18.0.10"}]},
        {
            "allocation_pools": [
                {"start": "198.18.0.10", "end": "198.18.0.20"},
                {"start": "198.18.0.20", "end": "198.18.0.30"},
            ]
        },
        {"allocation_pools": [{"start": "198.18.0.1", "end": "198.18.0.20"}]},
        {"allocation_pools": [{"start": "198.18.0.5"}]},
        {"dns_nameservers": ["198.18.0.53", "198.18.0.53"]},
        {"dns_nameservers": ["bogus"]},
        {"host_routes": [{"destination": "10.0.0.0/8", "nexthop": "bogus"}]},
        {"host_routes": [{"destination": "10.0.0.1", "nexthop": "198.18.0.1"}]},
        {
            "host_routes": [
                {"destination": "10.0.0.0/8", "nexthop": "198.18.0.1"},
                {"destination": "10.0.0.0/8", "nexthop": "198.18.0.2"},
            ]
        },
    ],
)
async def test_invalid_subnets_are_400(api_client, network, body):
    response = await post_subnet(api_client, network["id"], **body)
    assert response.status_code == 400, response.text


async def test_null_lists_mean_empty(api_client, network):
    response = await post_subnet(api_client, network["id"], dns_nameservers=None, host_routes=None)
    assert response.status_code == 201, response.text
    subnet = response.json()["subnet"]
    assert subnet["dns_nameservers"] == [] and subnet["host_routes"] == []
    url = f"/v2.0/subnets/{subnet['id']}"
    route = {"destination": "10.0.0.0/8", "nexthop": "198.18.0.1"}
    set_ = await api_client.put(
        url, json={"subnet": {"host_routes": [route], "dns_nameservers": ["198.18.0.53"]}}
    )
    assert set_.json()["subnet"]["host_routes"] == [route]
    cleared = await api_client.put(
        url, json={"subnet": {"host_routes": None, "dns_nameservers": None}}
    )
    assert cleared.status_code == 200, cleared.text
    assert cleared.json()["subnet"]["host_routes"] == []
    assert cleared.json()["subnet"]["dns_nameservers"] == []


async def test_overlapping_subnets_on_one_network_are_refused(api_client, network):
    assert (await post_subnet(api_client, network["id"], cidr="198.18.0.0/24")).status_code == 201
    for cidr in ("198.18.0.0/24", "198.18.0.128/25", "198.18.0.0/16"):
        assert (await post_subnet(api_client, network["id"], cidr=cidr)).status_code == 400
    other = await create_network(api_client)
    assert (await post_subnet(api_client, other["id"], cidr="198.18.0.0/24")).status_code == 201


async def test_subnet_on_a_missing_network_is_404(api_client):
    response = await post_subnet(api_client, "nope")
    assert response.status_code == 404
    assert response.json()["NeutronError"]["type"] == "NetworkNotFound"


async def test_update_gateway_pools_and_frozen_fields(api_client, network):
    _, subnet = await create_net_and_subnet(api_client)
    url = f"/v2.0/subnets/{subnet['id']}"
    inside_pool = await api_client.put(url, json={"subnet": {"gateway_ip": "198.18.0.100"}})
    assert inside_pool.status_code == 400
    response = await api_client.put(
        url,
        json={
            "subnet": {
                "gateway_ip": "198.18.0.254",
                "allocation_pools": [{"start": "198.18.0.1", "end": "198.18.0.200"}],
                "dns_nameservers": ["198.18.0.53"],
            }
        },
    )
    assert response.status_code == 200, response.text
    updated = response.json()["subnet"]
    assert updated["gateway_ip"] == "198.18.0.254" and updated["revision_number"] == 1
    assert updated["dns_nameservers"] == ["198.18.0.53"]
    assert (await api_client.put(url, json={"subnet": {"cidr": "10.0.0.0/8"}})).status_code == 400
    assert (await api_client.put(url, json={"subnet": {"gateway_ip": None}})).json()["subnet"][
        "gateway_ip"
    ] is None


async def test_delete_with_allocated_addresses_is_409(api_client):
    network, subnet = await create_net_and_subnet(api_client)
    port = await create_port(api_client, network["id"])
    response = await api_client.delete(f"/v2.0/subnets/{subnet['id']}")
    assert response.status_code == 409
    assert response.json()["NeutronError"]["type"] == "SubnetInUse"
    await api_client.delete(f"/v2.0/ports/{port['id']}")
    assert (await api_client.delete(f"/v2.0/subnets/{subnet['id']}")).status_code == 204
    response = await api_client.get(f"/v2.0/subnets/{subnet['id']}")
    assert response.status_code == 404
    assert response.json()["NeutronError"]["type"] == "SubnetNotFound"
