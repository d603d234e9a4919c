"""Ports over the API: MACs, fixed IPs, extra DHCP options, binding, bulk create."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from metalnet.store import tables as t
from tests.factories import (
    create_net_and_subnet,
    create_network,
    create_port,
    create_subnet,
    port_body,
    unique_mac,
)


@pytest.fixture
async def net(api_client):
    network, subnet = await create_net_and_subnet(api_client, cidr="198.18.0.0/28")
    return network, subnet


async def post_port(client, network_id, **body):
    return await client.post("/v2.0/ports", json={"port": port_body(network_id, **body)})


def error_type(response) -> str:
    return response.json()["NeutronError"]["type"]


async def test_mac_is_generated_when_absent(api_client, net):
    network, subnet = net
    response = await api_client.post("/v2.0/ports", json={"port": {"network_id": network["id"]}})
    port = response.json()["port"]
    assert response.status_code == 201 and port["mac_address"].startswith("fa:16:3e:")
    assert port["fixed_ips"] == [{"subnet_id": subnet["id"], "ip_address": "198.18.0.2"}]
    assert port["status"] == "ACTIVE" and port["binding:vnic_type"] == "normal"
    assert port["extra_dhcp_opts"] == [] and port["revision_number"] == 0


async def test_mac_is_normalized(api_client, net):
    response = await post_port(api_client, net[0]["id"], mac_address="52-54-00-AB-CD-EF")
    assert response.json()["port"]["mac_address"] == "52:54:00:ab:cd:ef"


async def test_mac_unique_per_network_on_create_and_update(api_client, net):
    network, _ = net
    mac = unique_mac()
    await create_port(api_client, network["id"], mac_address=mac)
    response = await post_port(api_client, network["id"], mac_address=mac.upper())
    assert response.status_code == 409 and error_type(response) == "MacAddressInUse"
    other = await create_port(api_client, network["id"])
    response = await api_client.put(
        f"/v2.0/ports/{other['id']}", json={"port": {"mac_address": mac}}
    )
    assert response.status_code == 409 and error_type(response) == "MacAddressInUse"
    same = await api_client.put(
        f"/v2.0/ports/{other['id']}", json={"port": {"mac_address": other["mac_address"]}}
    )
    assert same.status_code == 200
    new_mac = unique_mac()
    moved = await api_client.put(
        f"/v2.0/ports/{other['id']}", json={"port": {"mac_address": new_mac}}
    )
    assert moved.json()["port"]["mac_address"] == new_mac


async def test_same_mac_on_two_networks_is_fine(api_client, net):
    second = await create_network(api_client)
    mac = unique_mac()
    await create_port(api_client, net[0]["id"], mac_address=mac)
    assert (await post_port(api_client, second["id"], mac_address=mac)).status_code == 201


@pytest.mark.parametrize(
    "mac",
    [
        "01:00:5e:00:00:01",
        "ff:ff:ff:ff:ff:ff",
        "00:00:00:00:00:00",
        "52:54:00:12:34",
        "52:54:00:12:34:56:78",
        "nonsense",
        "",
    ],
)
async def test_invalid_macs_are_400(api_client, net, mac):
    response = await post_port(api_client, net[0]["id"], mac_address=mac)
    if mac == "":
        assert response.status_code == 201  # empty means "generate one", as absent does
        return
    assert response.status_code == 400, response.text


async def test_fixed_ips_requested_address_subnet_and_none(api_client, net):
    network, subnet = net
    requested = await create_port(
        api_client, network["id"], fixed_ips=[{"ip_address": "198.18.0.9"}]
    )
    assert requested["fixed_ips"] == [{"subnet_id": subnet["id"], "ip_address": "198.18.0.9"}]
    by_subnet = await create_port(
        api_client, network["id"], fixed_ips=[{"subnet_id": subnet["id"]}]
    )
    assert by_subnet["fixed_ips"][0]["ip_address"] == "198.18.0.10"
    both = await create_port(
        api_client,
        network["id"],
        fixed_ips=[{"subnet_id": subnet["id"], "ip_address": "198.18.0.3"}],
    )
    assert both["fixed_ips"][0]["ip_address"] == "198.18.0.3"
    none = await create_port(api_client, network["id"], fixed_ips=[])
    assert none["fixed_ips"] == []


async def test_address_conflicts_and_gateway(api_client, net):
    network, _subnet = net
    await create_port(api_client, network["id"], fixed_ips=[{"ip_address": "198.18.0.5"}])
    response = await post_port(api_client, network["id"], fixed_ips=[{"ip_address": "198.18.0.5"}])
    assert response.status_code == 409 and error_type(response) == "IpAddressInUse"
    gateway = await post_port(api_client, network["id"], fixed_ips=[{"ip_address": "198.18.0.1"}])
    assert gateway.status_code == 409 and error_type(gateway) == "IpAddressInUse"
    for bad in ("198.18.0.0", "198.18.0.15", "10.0.0.1", "2001:db8::1", "bogus"):
        response = await post_port(api_client, network["id"], fixed_ips=[{"ip_address": bad}])
        assert response.status_code == 400, (bad, response.text)
    response = await post_port(api_client, network["id"], fixed_ips=[{"subnet_id": "nope"}])
    assert response.status_code == 400
    response = await post_port(api_client, network["id"], fixed_ips=[{}])
    assert response.status_code == 400
    twice = [{"ip_address": "198.18.0.6"}, {"ip_address": "198.18.0.6"}]
    assert (await post_port(api_client, network["id"], fixed_ips=twice)).status_code == 400


async def test_pool_exhaustion_is_409(api_client):
    network, _subnet = await create_net_and_subnet(
        api_client,
        cidr="198.18.0.0/29",
        allocation_pools=[{"start": "198.18.0.2", "end": "198.18.0.4"}],
    )
    ips = [
        (await create_port(api_client, network["id"]))["fixed_ips"][0]["ip_address"]
        for _ in range(3)
    ]
    assert ips == ["198.18.0.2", "198.18.0.3", "198.18.0.4"]
    response = await post_port(api_client, network["id"])
    assert response.status_code == 409 and error_type(response) == "IpAddressGenerationFailure"
    # An address outside the pools but inside the cidr can still be asked for.
    outside = await create_port(api_client, network["id"], fixed_ips=[{"ip_address": "198.18.0.6"}])
    assert outside["fixed_ips"][0]["ip_address"] == "198.18.0.6"


async def test_released_addresses_are_reused(api_client):
    network, _ = await create_net_and_subnet(
        api_client,
        cidr="198.18.0.0/29",
        allocation_pools=[{"start": "198.18.0.2", "end": "198.18.0.3"}],
    )
    first = await create_port(api_client, network["id"])
    await create_port(api_client, network["id"])
    await api_client.delete(f"/v2.0/ports/{first['id']}")
    again = await create_port(api_client, network["id"])
    assert again["fixed_ips"] == first["fixed_ips"]


async def test_network_without_subnet_gives_no_address(api_client):
    network = await create_network(api_client)
    assert (await create_port(api_client, network["id"]))["fixed_ips"] == []


async def test_update_fixed_ips(api_client, net):
    network, _subnet = net
    port = await create_port(api_client, network["id"], fixed_ips=[{"ip_address": "198.18.0.4"}])
    url = f"/v2.0/ports/{port['id']}"
    keep_and_add = [{"ip_address": "198.18.0.4"}, {"ip_address": "198.18.0.7"}]
    response = await api_client.put(url, json={"port": {"fixed_ips": keep_and_add}})
    assert [f["ip_address"] for f in response.json()["port"]["fixed_ips"]] == [
        "198.18.0.4",
        "198.18.0.7",
    ]
    other = await create_port(api_client, network["id"])
    clash = await api_client.put(
        f"/v2.0/ports/{other['id']}", json={"port": {"fixed_ips": [{"ip_address": "198.18.0.7"}]}}
    )
    assert clash.status_code == 409 and error_type(clash) == "IpAddressInUse"
    cleared = await api_client.put(url, json={"port": {"fixed_ips": []}})
    assert cleared.json()["port"]["fixed_ips"] == []
    reuse = await api_client.put(
        f"/v2.0/ports/{other['id']}", json={"port": {"fixed_ips": [{"ip_address": "198.18.0.7"}]}}
    )
    assert reuse.status_code == 200


async def test_network_id_cannot_change(api_client, net):
    port = await create_port(api_client, net[0]["id"])
    other = await create_network(api_client)
    response = await api_client.put(
        f"/v2.0/ports/{port['id']}", json={"port": {"network_id": other["id"]}}
    )
    assert response.status_code == 400


EXTRA_OK = [
    {"opt_name": "tag:ipxe,bootfile-name", "opt_value": "http://198.18.0.1/boot.ipxe"},
    {"opt_name": "tag:!ipxe,bootfile-name", "opt_value": "undionly.kpxe"},
    {"opt_name": "tag:efi-x86_64,bootfile-name", "opt_value": "ipxe.efi"},
    {"opt_name": "tftp-server-address", "opt_value": "198.18.0.1"},
    {"opt_name": "server-ip-address", "opt_value": "198.18.0.1"},
    {"opt_name": "mtu", "opt_value": "9000", "ip_version": 4},
]


async def test_extra_dhcp_opts_accepted(api_client, net):
    port = await create_port(api_client, net[0]["id"], extra_dhcp_opts=EXTRA_OK)
    got = {o["opt_name"]: o["opt_value"] for o in port["extra_dhcp_opts"]}
    assert got == {o["opt_name"]: o["opt_value"] for o in EXTRA_OK}
    assert all(o["ip_version"] == 4 for o in port["extra_dhcp_opts"])


@pytest.mark.parametrize(
    ("opt", "named"),
    [
        ({"opt_name": "no-such-option", "opt_value": "1"}, "no-such-option"),
        ({"opt_name": "tag:nosuch,bootfile-name", "opt_value": "x"}, "tag:nosuch,bootfile-name"),
        ({"opt_name": "tftp-server-address", "opt_value": "tftp.example"}, "tftp-server-address"),
        ({"opt_name": "server-ip-address", "opt_value": "198.18.0.256"}, "server-ip-address"),
        ({"opt_name": "mtu", "opt_value": "lots"}, "mtu"),
        ({"opt_name": "lease-time", "opt_value": "-5"}, "lease-time"),
        ({"opt_name": "53", "opt_value": "1"}, "53"),
        ({"opt_name": "mtu", "opt_value": "1500", "ip_version": 6}, "mtu"),
    ],
)
async def test_extra_dhcp_opts_refused_with_a_400_naming_the_option(api_client, net, opt, named):
    response = await post_port(api_client, net[0]["id"], extra_dhcp_opts=[opt])
    assert response.status_code == 400
    assert named in response.json()["NeutronError"]["message"]


async def test_duplicate_extra_dhcp_opt_is_400(api_client, net):
    opts = [{"opt_name": "mtu", "opt_value": "1500"}, {"opt_name": "mtu", "opt_value": "9000"}]
    assert (await post_port(api_client, net[0]["id"], extra_dhcp_opts=opts)).status_code == 400


async def test_extra_dhcp_opts_update_merges_and_null_deletes(api_client, net):
    port = await create_port(api_client, net[0]["id"], extra_dhcp_opts=EXTRA_OK[:3])
    url = f"/v2.0/ports/{port['id']}"
    change = [
        {"opt_name": "tag:ipxe,bootfile-name", "opt_value": "http://198.18.0.2/boot.ipxe"},
        {"opt_name": "tag:!ipxe,bootfile-name", "opt_value": None},
        {"opt_name": "tftp-server-address", "opt_value": "198.18.0.2"},
        {"opt_name": "not-there-anyway", "opt_value": None},
    ]
    response = await api_client.put(url, json={"port": {"extra_dhcp_opts": change}})
    assert response.status_code == 200, response.text
    got = {o["opt_name"]: o["opt_value"] for o in response.json()["port"]["extra_dhcp_opts"]}
    assert got == {
        "tag:ipxe,bootfile-name": "http://198.18.0.2/boot.ipxe",
        "tag:efi-x86_64,bootfile-name": "ipxe.efi",
        "tftp-server-address": "198.18.0.2",
    }
    bad = await api_client.put(
        url,
        json={
            "port": {"extra_dhcp_opts": [{"opt_name": "tftp-server-address", "opt_value": "nope"}]}
        },
    )
    assert bad.status_code == 400 and "tftp-server-address" in bad.text
    shown = await api_client.get(url)
    assert shown.json()["port"]["extra_dhcp_opts"] == response.json()["port"]["extra_dhcp_opts"]


async def test_binding_attributes(api_client, net):
    body = {
        "binding:host_id": "hv1",
        "binding:vnic_type": "baremetal",
        "binding:profile": {"local_link_information": [{"switch_id": "aa:bb:cc:dd:ee:ff"}]},
    }
    port = await create_port(api_client, net[0]["id"], **body)
    for key, value in body.items():
        assert port[key] == value
    bad = await post_port(api_client, net[0]["id"], **{"binding:vnic_type": "direct"})
    assert bad.status_code == 400


async def test_admin_state_and_status(api_client, net):
    port = await create_port(api_client, net[0]["id"], admin_state_up=False)
    assert port["status"] == "DOWN"
    response = await api_client.put(
        f"/v2.0/ports/{port['id']}", json={"port": {"admin_state_up": True}}
    )
    assert response.json()["port"]["status"] == "ACTIVE"
    assert response.json()["port"]["revision_number"] == 1


def _db_counts(store) -> tuple[int, int, int]:
    with store.engine.connect() as connection:
        return tuple(
            int(connection.execute(select(func.count()).select_from(table)).scalar_one())
            for table in (t.ports, t.ip_allocations, t.changes)
        )


async def test_bulk_create_all_or_nothing(api_client, store, net):
    network, _subnet = net
    before = _db_counts(store)
    head = store.feed.head()
    bodies = [port_body(network["id"]) for _ in range(3)]
    response = await api_client.post("/v2.0/ports", json={"ports": bodies})
    assert response.status_code == 201
    created = response.json()["ports"]
    assert [p["mac_address"] for p in created] == [b["mac_address"] for b in bodies]
    ips = [p["fixed_ips"][0]["ip_address"] for p in created]
    assert len(set(ips)) == 3
    after_ok = _db_counts(store)
    assert after_ok[0] == before[0] + 3
    head = store.feed.head()

    taken_mac = bodies[0]["mac_address"]
    failures = [
        [
            port_body(network["id"]),
            port_body(network["id"], mac_address=taken_mac),
            port_body(network["id"]),
        ],
        [port_body(network["id"]), port_body(network["id"], fixed_ips=[{"ip_address": ips[0]}])],
        [
            port_body(network["id"]),
            port_body(network["id"], mac_address="bogus"),
            port_body(network["id"]),
        ],
        [
            port_body(network["id"]),
            port_body(network["id"], extra_dhcp_opts=[{"opt_name": "nope", "opt_value": "1"}]),
        ],
        [port_body(network["id"]), port_body("no-such-network")],
        [port_body(network["id"]), {"network_id": network["id"], "bogus": 1}],
        [port_body(network["id"]), "not an object"],
        [
            port_body(network["id"], mac_address="02:aa:aa:aa:aa:aa"),
            port_body(network["id"], mac_address="02:AA:AA:AA:AA:AA"),
        ],
        [port_body(network["id"]) for _ in range(20)],  # the /28 pool runs out midway
    ]
    for bodies in failures:
        response = await api_client.post("/v2.0/ports", json={"ports": bodies})
        assert response.status_code in (400, 404, 409), response.text
        assert _db_counts(store) == after_ok, bodies
        assert store.feed.head() == head
    listed = await api_client.get("/v2.0/ports")
    assert len(listed.json()["ports"]) == 3
    assert (await api_client.post("/v2.0/ports", json={"ports": []})).status_code == 400


async def test_bulk_create_across_two_networks_and_subnets(api_client):
    a, sa = await create_net_and_subnet(api_client, cidr="198.18.0.0/24")
    b = await create_network(api_client)
    await create_subnet(api_client, b["id"], cidr="198.18.0.0/24")
    mac = unique_mac()
    response = await api_client.post(
        "/v2.0/ports",
        json={
            "ports": [
                port_body(a["id"], mac_address=mac),
                port_body(b["id"], mac_address=mac),
                port_body(a["id"], fixed_ips=[{"subnet_id": sa["id"]}]),
                port_body(a["id"], fixed_ips=[{"ip_address": "198.18.0.2"}]),
            ]
        },
    )
    # The explicit 198.18.0.2 is claimed first, so allocation skips it.
    assert response.status_code == 201, response.text
    ports = response.json()["ports"]
    on_a = [p["fixed_ips"][0]["ip_address"] for p in ports if p["network_id"] == a["id"]]
    assert len(on_a) == len(set(on_a)) == 3 and "198.18.0.2" in on_a


async def test_show_update_delete_missing_port_is_404(api_client):
    for method in ("GET", "PUT", "DELETE"):
        kwargs = {"json": {"port": {"name": "x"}}} if method == "PUT" else {}
        response = await api_client.request(method, "/v2.0/ports/nope", **kwargs)
        assert response.status_code == 404 and error_type(response) == "PortNotFound"
