"""Token auth: 401 without a token, projects isolated, admin-only attributes, noauth choice."""

from __future__ import annotations

from pathlib import Path

import pytest

from metalnet.api.app import create_app
from metalnet.cli.serve import decide_noauth
from metalnet.settings import Settings
from tests.conftest import asgi_client
from tests.factories import network_body, port_body, subnet_body


@pytest.fixture
async def clients(store):
    """(anonymous, admin, project A, project B) clients of a token-auth app."""
    app = create_app(store, noauth=False)
    made = []
    for project, admin in (("admin-project", True), ("pa", False), ("pb", False)):
        _, secret = store.tokens.create(project, admin)
        client = asgi_client(app)
        client.headers["X-Auth-Token"] = secret
        made.append(client)
    anonymous = asgi_client(app)
    async with anonymous, made[0], made[1], made[2]:
        yield anonymous, *made


async def post(client, kind, body):
    return await client.post(f"/v2.0/{kind}s", json={kind: body})


async def test_missing_or_bad_token_is_401(clients):
    anonymous, admin, *_ = clients
    response = await anonymous.get("/v2.0/networks")
    assert (
        response.status_code == 401
        and response.json()["NeutronError"]["type"] == "NotAuthenticated"
    )
    bad = await anonymous.get("/v2.0/networks", headers={"X-Auth-Token": "forged"})
    assert bad.status_code == 401
    assert (await anonymous.get("/")).status_code == 200  # the version document is public
    assert (await admin.get("/v2.0/networks")).status_code == 200


async def test_projects_see_only_their_own_and_shared(clients):
    _, admin, a, b = clients
    net_a = (await post(a, "network", network_body(name="a"))).json()["network"]
    assert net_a["project_id"] == "pa"
    shared = (
        await post(admin, "network", network_body(name="shared", shared=True, project_id="ops"))
    ).json()["network"]
    sub_a = (await post(a, "subnet", subnet_body(net_a["id"]))).json()["subnet"]
    port_a = (await post(a, "port", port_body(net_a["id"]))).json()["port"]

    assert sorted(n["name"] for n in (await b.get("/v2.0/networks")).json()["networks"]) == [
        "shared"
    ]
    assert sorted(n["name"] for n in (await a.get("/v2.0/networks")).json()["networks"]) == [
        "a",
        "shared",
    ]
    assert len((await admin.get("/v2.0/networks")).json()["networks"]) == 2
    for kind, obj in (("networks", net_a), ("subnets", sub_a), ("ports", port_a)):
        url = f"/v2.0/{kind}/{obj['id']}"
        assert (await b.get(url)).status_code == 404
        assert (await b.put(url, json={kind[:-1]: {"name": "stolen"}})).status_code == 404
        assert (await b.delete(url)).status_code == 404
        assert (await b.put(f"{url}/tags/x")).status_code == 404
        assert (await admin.get(url)).status_code == 200
    assert (await b.get("/v2.0/ports")).json()["ports"] == []
    assert (await b.get("/v2.0/subnets")).json()["subnets"] == []
    # B may not put ports or subnets on A's network, nor create for another project.
    assert (await post(b, "port", port_body(net_a["id"]))).status_code == 404
    assert (
        await post(b, "subnet", subnet_body(net_a["id"], cidr="198.19.0.0/24"))
    ).status_code == 404
    assert (await post(b, "network", network_body(project_id="pa"))).status_code == 403
    # A shared network takes B's port.
    port_b = await post(b, "port", port_body(shared["id"]))
    assert port_b.status_code == 201 and port_b.json()["port"]["project_id"] == "pb"
    assert (await a.get(f"/v2.0/ports/{port_b.json()['port']['id']}")).status_code == 404


@pytest.mark.parametrize(
    ("kind", "attrs"),
    [
        ("network", {"provider:network_type": "flat"}),
        ("network", {"provider:physical_network": "physnet1"}),
        ("network", {"provider:network_type": "vlan", "provider:segmentation_id": 5}),
        ("network", {"unknown_mac_policy": "discover"}),
        ("port", {"binding:host_id": "hv1"}),
        ("port", {"binding:vnic_type": "baremetal"}),
        ("port", {"binding:profile": {}}),
    ],
)
async def test_admin_only_attributes(clients, kind, attrs):
    _, admin, a, _ = clients
    net = (await post(a, "network", network_body())).json()["network"]
    body = network_body(**attrs) if kind == "network" else port_body(net["id"], **attrs)
    response = await post(a, kind, body)
    assert response.status_code == 403, response.text
    assert response.json()["NeutronError"]["type"] == "PolicyNotAuthorized"
    target = (
        net if kind == "network" else (await post(a, "port", port_body(net["id"]))).json()["port"]
    )
    url = f"/v2.0/{kind}s/{target['id']}"
    assert (await a.put(url, json={kind: attrs})).status_code == 403
    admin_body = body if kind == "network" else {**body, "project_id": "pa"}
    assert (await post(admin, kind, admin_body)).status_code == 201
    assert (await admin.put(url, json={kind: attrs})).status_code == 200


async def test_tenants_path_is_403_even_for_admin(clients):
    _, admin, *_ = clients
    assert (await admin.get("/v2.0/tenants/pa")).status_code == 403


def test_tokens_are_stored_hashed(store):
    _, secret = store.tokens.create("p", True)
    database = Path(str(store.engine.url.database))
    raw = b"".join(f.read_bytes() for f in database.parent.glob(database.name + "*"))
    with store.engine.connect() as connection:
        rows = connection.exec_driver_sql("SELECT * FROM tokens").fetchall()
    assert secret not in repr(rows) and secret.encode() not in raw


@pytest.mark.parametrize(
    ("listen", "noauth", "tokens", "expected"),
    [
        ("127.0.0.1:9696", False, False, True),
        ("[::1]:9696", False, False, True),
        ("localhost:9696", False, False, True),
        ("127.0.0.1:9696", False, True, False),
        ("0.0.0.0:9696", False, False, False),
        ("198.18.0.1:9696", False, False, False),
        ("0.0.0.0:9696", True, True, True),
        ("127.0.0.1:9696", True, True, True),
    ],
)
def test_decide_noauth(store, listen, noauth, tokens, expected):
    if tokens:
        store.tokens.create("p", False)
    assert decide_noauth(Settings(listen=listen, noauth=noauth), store) is expected


async def test_counters_are_for_admins_only(clients):
    _, admin, a, _ = clients
    assert (await admin.get("/v1/counters")).json() == {"counters": {}}  # no DHCP/TFTP here
    refused = await a.get("/v1/counters")
    assert refused.status_code == 403, refused.text


async def test_counters_come_from_the_running_services(store):
    app = create_app(store, noauth=True, counters=lambda: {"dhcp": {"received": 3}})
    async with asgi_client(app) as client:
        response = await client.get("/v1/counters")
    assert response.json() == {"counters": {"dhcp": {"received": 3}}}
