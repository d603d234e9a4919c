"""API behaviour that depends on the database, run on SQLite and PostgreSQL."""

from __future__ import annotations

import json

import pytest

from tests.factories import create_net_and_subnet, create_port, port_body


@pytest.mark.parametrize(
    "path",
    [
        "/v2.0/ports/%00",
        "/v2.0/networks/a%00b",
        "/v2.0/ports?name=%00",
        "/v2.0/ports?marker=%00&limit=1",
        "/v2.0/ports?fixed_ips=ip_address%3D%00",
        "/v2.0/ports?tags=%00",
        "/v2.0/ports/%00/tags",
        "/v2.0/ports?mac_address=%00",
        "/v2.0/subnets?cidr=%00",
    ],
)
async def test_nul_in_paths_and_filters_is_a_client_error(backend_api_client, path):
    response = await backend_api_client.get(path)
    assert response.status_code in (400, 404), response.text
    assert "NeutronError" in response.json()


async def test_nul_and_bad_text_in_bodies_is_400(backend_api_client):
    network, _ = await create_net_and_subnet(backend_api_client)
    port = await create_port(backend_api_client, network["id"])
    for body in ({"name": "a\u0000"}, {"binding:profile": {"a\u0000": 1}}, {"device_id": "\ud800"}):
        raw = json.dumps({"port": port_body(network["id"], **body)})  # escapes the surrogate
        response = await backend_api_client.post("/v2.0/ports", content=raw)
        assert response.status_code == 400, response.text
    tag = await backend_api_client.put(f"/v2.0/ports/{port['id']}/tags/a%00b")
    assert tag.status_code == 400, tag.text
    tags = await backend_api_client.put(f"/v2.0/ports/{port['id']}/tags", json={"tags": ["\u0000"]})
    assert tags.status_code == 400, tags.text


async def test_long_and_unicode_text_round_trips(backend_api_client):
    network, _ = await create_net_and_subnet(backend_api_client)
    name = "é" * 255
    port = await create_port(
        backend_api_client,
        network["id"],
        name=name,
        device_id="🖥" * 255,
        **{"binding:profile": {"ü": ["✓", 1, None, {"x": 2.5}]}},
    )
    shown = (await backend_api_client.get(f"/v2.0/ports/{port['id']}")).json()["port"]
    assert shown["name"] == name and shown["device_id"] == "🖥" * 255
    assert shown["binding:profile"] == {"ü": ["✓", 1, None, {"x": 2.5}]}
    found = await backend_api_client.get("/v2.0/ports", params={"name": name})
    assert [p["id"] for p in found.json()["ports"]] == [port["id"]]


async def test_big_integers_never_reach_the_database(backend_api_client):
    for params in (
        {"mtu": str(2**63)},
        {"revision_number": str(-(2**63) - 1)},
        {"limit": str(2**64)},
        {"mtu": str(2**40)},
    ):
        response = await backend_api_client.get("/v2.0/networks", params=params)
        assert response.status_code == 400, response.text
    response = await backend_api_client.get("/v2.0/networks", params={"mtu": str(2**30)})
    assert response.status_code == 200 and response.json()["networks"] == []
