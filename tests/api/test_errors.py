"""Error bodies, If-Match, the version document, extensions, /tenants, and bad input."""

from __future__ import annotations

import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.factories import create_net_and_subnet, create_network, create_port


def assert_neutron_error(response, status: int, kind: str | None = None) -> None:
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"NeutronError"}
    assert set(body["NeutronError"]) == {"type", "message", "detail"}
    if kind is not None:
        assert body["NeutronError"]["type"] == kind


async def test_version_document(api_client):
    response = await api_client.get("/")
    body = response.json()
    assert response.status_code == 200 and list(body) == ["versions"]
    (version,) = body["versions"]
    assert set(version) == {"id", "status", "links"}
    assert (version["id"], version["status"]) == ("v2.0", "CURRENT")
    assert version["links"] and version["links"][0]["href"].endswith("/v2.0/")


async def test_extensions(api_client):
    aliases = {e["alias"] for e in (await api_client.get("/v2.0/extensions")).json()["extensions"]}
    assert aliases >= {
        "provider",
        "binding",
        "extra_dhcp_opt",
        "standard-attr-revisions",
        "revision-if-match",
        "standard-attr-tag",
        "project-id",
        "pagination",
        "sorting",
        "filter-validation",
    }
    assert (await api_client.get("/v2.0/extensions/binding")).json()["extension"][
        "alias"
    ] == "binding"
    assert_neutron_error(await api_client.get("/v2.0/extensions/nope"), 404)


@pytest.mark.parametrize("method", ["GET", "POST", "PUT", "DELETE"])
async def test_tenants_paths_are_403(api_client, method):
    assert_neutron_error(await api_client.request(method, "/v2.0/tenants/p1/networks"), 403)


@pytest.mark.parametrize(
    ("kind", "error"),
    [("networks", "NetworkNotFound"), ("subnets", "SubnetNotFound"), ("ports", "PortNotFound")],
)
async def test_not_found_types(api_client, kind, error):
    assert_neutron_error(await api_client.get(f"/v2.0/{kind}/nope"), 404, error)
    assert_neutron_error(await api_client.delete(f"/v2.0/{kind}/nope"), 404, error)


async def test_unknown_path_and_method_keep_the_body(api_client):
    assert_neutron_error(await api_client.get("/v2.0/routers"), 404)
    assert_neutron_error(await api_client.patch("/v2.0/networks"), 405)


async def test_if_match_revision(api_client):
    network = await create_network(api_client)
    url = f"/v2.0/networks/{network['id']}"
    stale = await api_client.put(
        url, json={"network": {"name": "a"}}, headers={"If-Match": "revision_number=5"}
    )
    assert_neutron_error(stale, 412, "RevisionNumberConstraintFailed")
    ok = await api_client.put(
        url, json={"network": {"name": "a"}}, headers={"If-Match": "revision_number=0"}
    )
    assert ok.status_code == 200 and ok.json()["network"]["revision_number"] == 1
    assert_neutron_error(
        await api_client.delete(url, headers={"If-Match": "revision_number=0"}), 412
    )
    assert_neutron_error(
        await api_client.put(
            url, json={"network": {"name": "b"}}, headers={"If-Match": "revision_number=x"}
        ),
        400,
    )
    assert (
        await api_client.delete(url, headers={"If-Match": "revision_number=1"})
    ).status_code == 204


async def test_etag_on_show(api_client):
    network = await create_network(api_client)
    url = f"/v2.0/networks/{network['id']}"
    shown = await api_client.get(url)
    assert shown.headers["etag"] == '"0"'
    assert (await api_client.get(url, headers={"If-None-Match": '"0"'})).status_code == 304


BAD_PORT_BODIES = [
    b"{not json",
    b"",
    b"\xff\xfe\x00",
    b"null",
    b"[]",
    b'"port"',
    b"42",
    b'{"port": []}',
    b'{"port": "x"}',
    b'{"port": null}',
    b'{"port": {}}',
    b'{"port": {"network_id": 5}}',
    b'{"port": {"network_id": ["a"]}}',
    b'{"port": {"network_id": "N", "bogus": 1}}',
    b'{"port": {"network_id": "N", "name": 7}}',
    b'{"port": {"network_id": "N", "admin_state_up": "perhaps"}}',
    b'{"port": {"network_id": "N", "fixed_ips": {"ip_address": "198.18.0.5"}}}',
    b'{"port": {"network_id": "N", "fixed_ips": [{"ip_address": "2001:db8::5"}]}}',
    b'{"port": {"network_id": "N", "fixed_ips": [{"ip_address": 5}]}}',
    b'{"port": {"network_id": "N", "fixed_ips": ["198.18.0.5"]}}',
    b'{"port": {"network_id": "N", "extra_dhcp_opts": {"opt_name": "mtu"}}}',
    b'{"port": {"network_id": "N", "extra_dhcp_opts": [{"opt_name": "", "opt_value": "1"}]}}',
    b'{"port": {"network_id": "N", "binding:profile": []}}',
    b'{"port": {"network_id": "N", "tags": "a"}}',
    b'{"port": {"network_id": "N", "mac_address": "01:00:00:00:00:01"}}',
    b'{"port": {"network_id": "N", "mac_address": "52:54:00:00:00"}}',
    b'{"port": {"network_id": "N", "mac_address": 12}}',
    b'{"port": {"network_id": "N", "name": "a\\u0000b"}}',
    b'{"port": {"network_id": "N", "description": "a\\u0000b"}}',
    b'{"port": {"network_id": "N", "device_id": "\\u0000"}}',
    b'{"port": {"network_id": "N", "tags": ["\\u0000"]}}',
    b'{"port": {"network_id": "N", "binding:profile": {"k": "\\u0000"}}}',
    b'{"port": {"network_id": "N", "extra_dhcp_opts": '
    b'[{"opt_name": "bootfile-name", "opt_value": "a\\u0000"}]}}',
    b'{"port": {"network_id": "N", "name": "' + b"x" * 100_000 + b'"}}',
    b'{"port": {"network_id": "N", "name": "\\ud800"}}',
    b'{"port": {"network_id": "N"}, "extra": 1}',
    b'{"ports": [{"network_id": "N"}], "port": {"network_id": "N"}}',
    b'{"ports": {"network_id": "N"}}',
    b"[" * 5000 + b"]" * 5000,
    b'{"port": {"network_id": "N", "binding:profile": {"k": NaN}}}',
    b'{"port": {"network_id": "N", "binding:profile": {"k": -Infinity}}}',
]


async def test_bad_bodies_are_400_and_store_nothing(api_client, store):
    network, _ = await create_net_and_subnet(api_client)
    head = store.feed.head()
    for raw in BAD_PORT_BODIES:
        content = raw.replace(b'"N"', json.dumps(network["id"]).encode())
        response = await api_client.post(
            "/v2.0/ports", content=content, headers={"Content-Type": "application/json"}
        )
        assert response.status_code == 400, (raw[:100], response.text)
        assert_neutron_error(response, 400)
    assert (await api_client.get("/v2.0/ports")).json()["ports"] == []
    assert store.feed.head() == head


async def test_bad_update_bodies_are_400(api_client):
    network, _ = await create_net_and_subnet(api_client)
    port = await create_port(api_client, network["id"])
    for body in (
        [],
        {"port": []},
        {"ports": {}},
        {"port": {"name": "a\u0000"}},
        {"port": {"mac_address": "ff:ff:ff:ff:ff:ff"}},
        {"port": {"id": "x"}},
        {"port": {"fixed_ips": [{"ip_address": "2001:db8::1"}]}},
    ):
        response = await api_client.put(f"/v2.0/ports/{port['id']}", json=body)
        assert_neutron_error(response, 400)
    for body in (
        {"network": {"name": "\u0000"}},
        {"network": {"mtu": True}},
        {"network": []},
        {"x": 1},
    ):
        response = await api_client.put(f"/v2.0/networks/{network['id']}", json=body)
        assert_neutron_error(response, 400)
    shown = (await api_client.get(f"/v2.0/ports/{port['id']}")).json()["port"]
    assert shown == port


json_leaf = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=20),
    st.sampled_from(
        [
            "198.18.0.5",
            "2001:db8::1",
            "52:54:00:12:34:56",
            "ff:ff:ff:ff:ff:ff",
            "bootfile-name",
            "tag:ipxe,bootfile-name",
            "\u0000",
            "NETWORK",
        ]
    ),
)
json_value = st.recursive(
    json_leaf,
    lambda children: (
        st.lists(children, max_size=4)
        | st.dictionaries(
            st.sampled_from(
                [
                    "network_id",
                    "name",
                    "mac_address",
                    "fixed_ips",
                    "ip_address",
                    "subnet_id",
                    "extra_dhcp_opts",
                    "opt_name",
                    "opt_value",
                    "ip_version",
                    "binding:profile",
                    "binding:vnic_type",
                    "binding:host_id",
                    "tags",
                    "admin_state_up",
                    "device_id",
                    "port",
                    "ports",
                    "x",
                ]
            ),
            children,
            max_size=5,
        )
    ),
    max_leaves=12,
)
port_like = st.fixed_dictionaries(
    {"network_id": st.just("NETWORK")},
    optional={
        "mac_address": json_leaf,
        "fixed_ips": json_value,
        "extra_dhcp_opts": json_value,
        "name": json_leaf,
        "binding:profile": json_value,
        "tags": json_value,
        "admin_state_up": json_leaf,
    },
)
bodies = st.one_of(
    json_value,
    st.builds(lambda p: {"port": p}, port_like),
    st.builds(lambda ps: {"ports": ps}, st.lists(port_like, max_size=3)),
)


def _with_network(value, network_id: str):
    if value == "NETWORK":
        return network_id
    if isinstance(value, list):
        return [_with_network(v, network_id) for v in value]
    if isinstance(value, dict):
        return {k: _with_network(v, network_id) for k, v in value.items()}
    return value


@settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(body=bodies)
async def test_random_port_bodies_never_500(api_client, body):
    network = (await api_client.get("/v2.0/networks", params={"name": "fuzz"})).json()["networks"]
    network_id = (
        network[0]["id"] if network else (await create_network(api_client, name="fuzz"))["id"]
    )
    response = await api_client.post("/v2.0/ports", json=_with_network(body, network_id))
    assert response.status_code in {201, 400, 404, 409}, response.text
    if response.status_code != 201:
        assert set(response.json()) == {"NeutronError"}


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/v1/boot-profiles", {"boot_profile": {"name": "p", "chain_url": "http://x/",
                                                "description": "a\u0000b"}}),
        ("/v1/hypervisors", {"hypervisor": {"name": "hv", "description": "a\u0000b"}}),
        ("/v1/nodes", {"node": {"name": "n", "description": "a\u0000b"}}),
        ("/v1/enrollment-rules", {"enrollment_rule": {"name": "r", "description": "\u0000"}}),
        ("/v2.0/networks", {"network": {"name": "n\u0000"}}),
    ],
)
async def test_nul_in_any_json_body_is_400_on_both_backends(backend_api_client, path, body):
    response = await backend_api_client.post(path, json=body)
    assert response.status_code == 400, response.text
    assert "NUL" in response.text
