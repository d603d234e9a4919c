"""Lists: filters, fields, sorting, pages with links, and the tags sub-resource."""

from __future__ import annotations

from urllib.parse import parse_qsl, urlsplit

import pytest

from tests.factories import create_net_and_subnet, create_network, create_port, port_body


@pytest.fixture
async def ports(api_client):
    network, subnet = await create_net_and_subnet(api_client)
    response = await api_client.post(
        "/v2.0/ports",
        json={
            "ports": [
                port_body(
                    network["id"],
                    name=f"p{i % 5}",
                    device_id=f"dev{i % 3}",
                    tags=["even"] if i % 2 == 0 else ["odd", "x"],
                )
                for i in range(13)
            ]
        },
    )
    assert response.status_code == 201
    return network, subnet, response.json()["ports"]


async def names(client, params) -> list[str]:
    response = await client.get("/v2.0/ports", params=params)
    assert response.status_code == 200, response.text
    return sorted(p["name"] for p in response.json()["ports"])


async def test_filters(api_client, ports):
    _, subnet, created = ports
    a, b = created[0], created[1]
    by_mac = await api_client.get(
        "/v2.0/ports",
        params=[("mac_address", a["mac_address"]), ("mac_address", b["mac_address"].upper())],
    )
    assert sorted(p["id"] for p in by_mac.json()["ports"]) == sorted([a["id"], b["id"]])
    ip = a["fixed_ips"][0]["ip_address"]
    by_ip = await api_client.get("/v2.0/ports", params={"fixed_ips": f"ip_address={ip}"})
    assert [p["id"] for p in by_ip.json()["ports"]] == [a["id"]]
    by_subnet = await api_client.get(
        "/v2.0/ports", params={"fixed_ips": f"subnet_id={subnet['id']}"}
    )
    assert len(by_subnet.json()["ports"]) == 13
    assert await names(api_client, [("name", "p1"), ("name", "p2")]) == ["p1"] * 3 + ["p2"] * 3
    assert len(await names(api_client, {"device_id": "dev0", "name": "p0"})) == 1
    assert await names(api_client, {"name": "absent"}) == []
    assert len(await names(api_client, {"admin_state_up": "true"})) == 13


async def test_tag_filters(api_client, ports):
    assert len(await names(api_client, {"tags": "even"})) == 7
    assert len(await names(api_client, {"tags": "odd,x"})) == 6
    assert len(await names(api_client, {"tags": "even,x"})) == 0
    assert len(await names(api_client, {"tags-any": "even,x"})) == 13
    assert len(await names(api_client, {"not-tags": "odd,x"})) == 7
    assert len(await names(api_client, {"not-tags-any": "even,odd"})) == 0


async def test_fields(api_client, ports):
    response = await api_client.get(
        "/v2.0/ports", params=[("fields", "id"), ("fields", "mac_address")]
    )
    assert all(set(p) == {"id", "mac_address"} for p in response.json()["ports"])
    one = ports[2][0]
    shown = await api_client.get(f"/v2.0/ports/{one['id']}", params={"fields": "id,name"})
    assert shown.json()["port"] == {"id": one["id"], "name": one["name"]}


async def test_sorting(api_client, ports):
    response = await api_client.get(
        "/v2.0/ports",
        params=[
            ("sort_key", "name"),
            ("sort_dir", "desc"),
            ("sort_key", "mac_address"),
            ("sort_dir", "asc"),
        ],
    )
    got = [(p["name"], p["mac_address"]) for p in response.json()["ports"]]
    assert got == sorted(got, key=lambda x: (x[0], [-ord(c) for c in x[1]]), reverse=True)
    for params in (
        {"sort_key": "bogus"},
        {"sort_key": "name", "sort_dir": "up"},
        [("sort_key", "name"), ("sort_key", "id"), ("sort_dir", "asc")],
    ):
        assert (await api_client.get("/v2.0/ports", params=params)).status_code == 400


def _query(href: str) -> list[tuple[str, str]]:
    parts = urlsplit(href)
    assert not parts.scheme and not parts.netloc and parts.path == "/v2.0/ports"
    return parse_qsl(parts.query)


@pytest.mark.parametrize("sort", [[], [("sort_key", "name"), ("sort_dir", "desc")]])
async def test_pages_forward_and_backward(api_client, ports, sort):
    everything = [
        p["id"] for p in (await api_client.get("/v2.0/ports", params=sort)).json()["ports"]
    ]
    assert len(everything) == 13
    params = [*sort, ("limit", "4")]
    seen: list[str] = []
    pages = []
    while True:
        body = (await api_client.get("/v2.0/ports", params=params)).json()
        pages.append(body)
        seen.extend(p["id"] for p in body["ports"])
        links = {link["rel"]: link["href"] for link in body.get("ports_links", [])}
        if "next" not in links:
            break
        params = _query(links["next"])
        assert len(pages) < 10
    assert seen == everything
    # Backwards from the last page, by "previous" links.
    back: list[str] = [p["id"] for p in pages[-1]["ports"]]
    body = pages[-1]
    while True:
        links = {link["rel"]: link["href"] for link in body.get("ports_links", [])}
        if "previous" not in links:
            break
        body = (await api_client.get("/v2.0/ports", params=_query(links["previous"]))).json()
        back[:0] = [p["id"] for p in body["ports"]]
        assert len(back) <= 13 + 4
    assert back == everything


async def test_a_marker_that_names_no_port_is_not_found(api_client, ports):
    response = await api_client.get("/v2.0/ports", params={"limit": "2", "marker": "nope"})
    assert response.status_code == 404
    assert response.json()["NeutronError"]["type"] == "PortNotFound"
    assert "nope" in response.json()["NeutronError"]["message"]


async def test_unlimited_list_has_no_links(api_client, ports):
    assert "ports_links" not in (await api_client.get("/v2.0/ports")).json()


@pytest.mark.parametrize(
    "params",
    [
        {"bogus": "1"},
        {"fixed_ips": "mac=1"},
        {"fixed_ips": "1.2.3.4"},
        {"admin_state_up": "maybe"},
        {"limit": "many"},
        {"revision_number": "x"},
        {"limit": "1" * 40},
        {"revision_number": "9" * 40},
        {"limit": "-1"},
    ],
)
async def test_bad_list_parameters_are_400(api_client, ports, params):
    response = await api_client.get("/v2.0/ports", params=params)
    assert response.status_code == 400, response.text
    assert "NeutronError" in response.json()


async def test_big_integer_filters_on_networks_are_400(api_client):
    for key in ("mtu", "provider:segmentation_id"):
        response = await api_client.get("/v2.0/networks", params={key: str(2**70)})
        assert response.status_code == 400, response.text


async def test_get_by_name_is_404(api_client, ports):
    response = await api_client.get("/v2.0/ports/p1")
    assert response.status_code == 404
    assert response.json()["NeutronError"]["type"] == "PortNotFound"


async def test_tags_sub_resource(api_client):
    network = await create_network(api_client)
    port = await create_port(api_client, network["id"])
    for kind, obj in (("networks", network), ("ports", port)):
        base = f"/v2.0/{kind}/{obj['id']}/tags"
        response = await api_client.put(base, json={"tags": ["a", "b", "a"]})
        assert response.status_code == 200 and response.json() == {"tags": ["a", "b"]}
        assert (await api_client.put(f"{base}/c")).status_code == 201
        assert (await api_client.get(base)).json() == {"tags": ["a", "b", "c"]}
        assert (await api_client.get(f"{base}/b")).status_code == 204
        assert (await api_client.get(f"{base}/zz")).status_code == 404
        assert (await api_client.delete(f"{base}/b")).status_code == 204
        assert (await api_client.delete(f"{base}/b")).status_code == 404
        shown = (await api_client.get(f"/v2.0/{kind}/{obj['id']}")).json()[kind[:-1]]
        assert shown["tags"] == ["a", "c"] and shown["revision_number"] >= 3
        assert (await api_client.delete(base)).status_code == 204
        assert (await api_client.get(base)).json() == {"tags": []}
        assert (await api_client.put(base, json={"tags": "a"})).status_code == 400
        assert (await api_client.put(base, json={"tags": ["a,b"]})).status_code == 400
        assert (
            await api_client.put(f"/v2.0/{kind}/nope/tags", json={"tags": []})
        ).status_code == 404
        assert (await api_client.get(f"/v2.0/{kind}/nope/tags")).status_code == 404
