"""The real OpenStack clients against a real ``metalnet serve`` (issue 2, item 8).

No Keystone is involved: keystoneauth1's ``none`` plugin takes the endpoint as
its only option, so

* openstacksdk: ``openstack.connect(auth_type="none", auth={"endpoint": URL})``
  (``load_yaml_config``/``load_envvars`` off so a stray clouds.yaml or ``OS_*``
  variable on the machine cannot redirect it);
* the CLI: ``openstack --os-auth-type none --os-endpoint URL ...``.

Neither needs a clouds.yaml nor ``--os-network-api-version``: both fetch the
version document at ``GET /`` and use the ``v2.0`` entry marked CURRENT. The
CLI is run with a clean environment (no ``OS_*``, HOME in a temp dir) for the
same reason as above. Lookups by name (``find_port``, ``port show NAME``)
first ask ``GET /v2.0/ports/NAME``, get 404, then list with ``?name=NAME``.

Client quirks these tests rely on, found while writing them:

* openstacksdk keeps ``if_match`` on a resource object after
  ``update_port(port, if_revision=N)``; later calls with the same object send the
  header again, so the tests pass ids to later calls.
* ``openstack port set --extra-dhcp-option name=X`` (no value) sends an entry
  without ``opt_value``, which Neutron and metalnet both refuse with 400; the
  CLI has no way to delete one option, so deletion is tested with the SDK
  (``opt_value: None``).

Addresses are in 198.18.0.0/15 (benchmarking range); all traffic is loopback.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.support.server import running_server

openstack = pytest.importorskip("openstack")
from openstack import exceptions as os_exc  # noqa: E402

pytestmark = [
    pytest.mark.integration,
    # openstacksdk 4.x warns about its own InfluxDB support on every connect (the
    # loader always hands CloudRegion a non-empty influxdb_config); not ours to fix.
    pytest.mark.filterwarnings("ignore::PendingDeprecationWarning:openstack.*"),
]

OPENSTACK_CLI = Path(sys.executable).with_name("openstack")
CLI_TIMEOUT = 90  # seconds; start-up alone is 1-2 s, more on a loaded machine


@pytest.fixture(scope="module")
def server_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with running_server(tmp_path_factory.mktemp("serve")) as url:
        yield url


@pytest.fixture()
def conn(server_url: str) -> Any:
    connection = openstack.connect(
        auth_type="none",
        auth={"endpoint": server_url},
        load_yaml_config=False,
        load_envvars=False,
    )
    yield connection
    connection.close()


def _opts(port: Any) -> dict[str, str]:
    return {o["opt_name"]: o["opt_value"] for o in port.extra_dhcp_opts}


# -- openstacksdk ------------------------------------------------------------------------------


def test_sdk_network_subnet_port_lifecycle(conn: Any) -> None:
    net = conn.network.create_network(
        name="sdk-net",
        provider_network_type="vlan",
        provider_physical_network="physnet1",
        provider_segmentation_id=118,
        unknown_mac_policy="discover",  # metalnet's own attribute: passed through as-is
    )
    assert (net.provider_network_type, net.provider_physical_network) == ("vlan", "physnet1")
    assert net.provider_segmentation_id == 118
    assert net.unknown_mac_policy == "discover"

    subnet = conn.network.create_subnet(
        network_id=net.id, name="sdk-subnet", ip_version=4, cidr="198.18.10.0/24",
        gateway_ip="198.18.10.1", dns_nameservers=["198.18.10.2"],
        allocation_pools=[{"start": "198.18.10.100", "end": "198.18.10.199"}],
    )
    assert subnet.allocation_pools == [{"start": "198.18.10.100", "end": "198.18.10.199"}]
    assert subnet.host_routes == []
    assert conn.network.get_network(net.id).subnet_ids == [subnet.id]

    port = conn.network.create_port(
        network_id=net.id, name="sdk-port-1", mac_address="52:54:00:18:10:01",
        binding_vnic_type="baremetal", binding_host_id="rack1-node1",
        extra_dhcp_opts=[
            {"opt_name": "bootfile-name", "opt_value": "pxelinux.0"},
            {"opt_name": "tftp-server", "opt_value": "198.18.10.3"},
        ],
    )
    assert port.fixed_ips == [{"subnet_id": subnet.id, "ip_address": "198.18.10.100"}]
    assert port.binding_vnic_type == "baremetal"
    assert port.revision_number == 0
    requested = conn.network.create_port(
        network_id=net.id, name="sdk-port-2", mac_address="52:54:00:18:10:02",
        fixed_ips=[{"subnet_id": subnet.id, "ip_address": "198.18.10.150"}],
    )
    assert requested.fixed_ips[0]["ip_address"] == "198.18.10.150"

    # Find by MAC (a list filter), also given in upper case as operators paste it.
    found = list(conn.network.ports(mac_address="52:54:00:18:10:01"))
    assert [p.id for p in found] == [port.id]
    assert [p.id for p in conn.network.ports(network_id=net.id, mac_address="52:54:00:18:10:02")] \
        == [requested.id]
    assert list(conn.network.ports(mac_address="52:54:00:18:10:99")) == []

    # extra_dhcp_opts: change one, delete one (opt_value None), add one; revision +1.
    updated = conn.network.update_port(
        port.id,
        extra_dhcp_opts=[
            {"opt_name": "bootfile-name", "opt_value": "ipxe.efi"},
            {"opt_name": "tftp-server", "opt_value": None},
            {"opt_name": "server-ip-address", "opt_value": "198.18.10.4"},
        ],
    )
    assert _opts(updated) == {"bootfile-name": "ipxe.efi", "server-ip-address": "198.18.10.4"}
    assert updated.revision_number == 1
    fetched = conn.network.get_port(port.id)
    assert _opts(fetched) == _opts(updated)
    assert fetched.revision_number == 1

    # Compare-and-swap through the SDK's if_revision (If-Match: revision_number=N).
    with pytest.raises(os_exc.PreconditionFailedException):
        conn.network.update_port(port.id, name="stale", if_revision=0)
    renamed = conn.network.update_port(port.id, name="sdk-port-1b", if_revision=1)
    assert (renamed.name, renamed.revision_number) == ("sdk-port-1b", 2)

    # find_* by name: GET /v2.0/ports/NAME -> 404 -> GET /v2.0/ports?name=NAME.
    assert conn.network.find_port("sdk-port-1b").id == port.id
    assert conn.network.find_port(port.id).id == port.id
    assert conn.network.find_port("no-such-port") is None
    assert conn.network.find_network("sdk-net").id == net.id
    assert conn.network.find_subnet("sdk-subnet").id == subnet.id

    # A network with ports or subnets is in use.
    with pytest.raises(os_exc.ConflictException):
        conn.network.delete_network(net.id, ignore_missing=False)
    conn.network.delete_port(port.id, ignore_missing=False)
    conn.network.delete_port(requested.id, ignore_missing=False)
    with pytest.raises(os_exc.NotFoundException):
        conn.network.get_port(port.id)
    conn.network.delete_subnet(subnet.id, ignore_missing=False)
    conn.network.delete_network(net.id, ignore_missing=False)
    assert conn.network.find_network("sdk-net") is None


def test_sdk_bulk_create_and_multi_mac_lookup(conn: Any) -> None:
    net = conn.network.create_network(name="sdk-bulk-net")
    subnet = conn.network.create_subnet(network_id=net.id, ip_version=4, cidr="198.18.11.0/24")
    macs = [f"52:54:00:18:11:{i:02x}" for i in range(1, 21)]
    bodies = [{"network_id": net.id, "mac_address": m, "name": f"bulk-{i}"}
              for i, m in enumerate(macs)]
    created = list(conn.network.create_ports(bodies))
    assert [p.mac_address for p in created] == macs
    addresses = {p.fixed_ips[0]["ip_address"] for p in created}
    assert len(addresses) == len(macs)

    # A repeated filter key means "any of".
    some = list(conn.network.ports(mac_address=[macs[0], macs[7], macs[19]]))
    assert sorted(p.mac_address for p in some) == sorted([macs[0], macs[7], macs[19]])

    # Pagination as the SDK does it (limit + marker from the next link).
    first_page = conn.network.get(f"/ports?network_id={net.id}&limit=6&sort_key=mac_address").json()
    assert len(first_page["ports"]) == 6
    assert [link["rel"] for link in first_page["ports_links"]] == ["next"]
    paged = list(conn.network.ports(network_id=net.id, limit=6, sort_key="mac_address"))
    assert [p.mac_address for p in paged] == macs

    for port in created:
        conn.network.delete_port(port.id, ignore_missing=False)
    conn.network.delete_subnet(subnet.id, ignore_missing=False)
    conn.network.delete_network(net.id, ignore_missing=False)


def test_sdk_errors_are_neutron_exceptions(conn: Any) -> None:
    net = conn.network.create_network(name="sdk-err-net")
    conn.network.create_subnet(network_id=net.id, ip_version=4, cidr="198.18.12.0/24")
    port = conn.network.create_port(network_id=net.id, mac_address="52:54:00:18:12:01")

    with pytest.raises(os_exc.ConflictException, match="52:54:00:18:12:01"):
        conn.network.create_port(network_id=net.id, mac_address="52:54:00:18:12:01")
    with pytest.raises(os_exc.ConflictException):
        conn.network.create_port(
            network_id=net.id, mac_address="52:54:00:18:12:02",
            fixed_ips=[{"ip_address": port.fixed_ips[0]["ip_address"]}],
        )
    with pytest.raises(os_exc.BadRequestException, match="no-such-option"):
        conn.network.update_port(
            port.id, extra_dhcp_opts=[{"opt_name": "no-such-option", "opt_value": "x"}]
        )
    with pytest.raises(os_exc.NotFoundException):
        conn.network.create_port(network_id="00000000-0000-0000-0000-000000000000")
    with pytest.raises(os_exc.BadRequestException):
        conn.network.create_network(name="bad-policy", unknown_mac_policy="sometimes")
    assert conn.network.get_port(port.id).revision_number == 0  # failed updates change nothing

    conn.network.delete_port(port.id, ignore_missing=False)
    for subnet in conn.network.subnets(network_id=net.id):
        conn.network.delete_subnet(subnet.id, ignore_missing=False)
    conn.network.delete_network(net.id, ignore_missing=False)


# -- the openstack CLI -------------------------------------------------------------------------


def _cli_env(home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("OS_")}
    env["HOME"] = str(home)  # no ~/.config/openstack/clouds.yaml
    env["PYTHONWARNINGS"] = "ignore"
    return env


def test_openstack_cli(server_url: str, tmp_path: Path) -> None:
    env = _cli_env(tmp_path)

    def cli(*args: str) -> Any:
        command = [str(OPENSTACK_CLI), "--os-auth-type", "none", "--os-endpoint", server_url,
                   *args]
        result = subprocess.run(command, capture_output=True, text=True, env=env,
                                timeout=CLI_TIMEOUT)
        assert result.returncode == 0, f"{' '.join(args)}:\n{result.stderr}"
        return json.loads(result.stdout) if "json" in args else result.stdout

    net = cli("network", "create", "-f", "json", "--provider-network-type", "flat",
              "--provider-physical-network", "physnet2", "cli-net")
    assert net["provider:network_type"] == "flat"
    assert net["provider:physical_network"] == "physnet2"
    subnet = cli("subnet", "create", "-f", "json", "--network", "cli-net",
                 "--subnet-range", "198.18.20.0/24", "--gateway", "198.18.20.1",
                 "--allocation-pool", "start=198.18.20.50,end=198.18.20.60",
                 "--dns-nameserver", "198.18.20.2", "cli-subnet")
    assert subnet["allocation_pools"] == [{"start": "198.18.20.50", "end": "198.18.20.60"}]
    port = cli("port", "create", "-f", "json", "--network", "cli-net",
               "--mac-address", "52:54:00:18:20:01", "--vnic-type", "baremetal",
               "--host", "rack2-node1",
               "--extra-dhcp-option", "name=bootfile-name,value=pxelinux.0",
               "--extra-dhcp-option", "name=tftp-server,value=198.18.20.3", "cli-port")
    assert port["fixed_ips"] == [{"subnet_id": subnet["id"], "ip_address": "198.18.20.50"}]
    assert port["binding_vnic_type"] == "baremetal"
    assert port["revision_number"] == 0

    listed = cli("port", "list", "-f", "json", "--mac-address", "52:54:00:18:20:01")
    assert [p["ID"] for p in listed] == [port["id"]]

    # Change one option (ip-version comes as the string "4"), add one.
    cli("port", "set", "--extra-dhcp-option", "name=bootfile-name,value=ipxe.efi,ip-version=4",
        "--extra-dhcp-option", "name=server-ip-address,value=198.18.20.4", "cli-port")
    shown = cli("port", "show", "-f", "json", "cli-port")  # by name: 404, then ?name=
    assert {o["opt_name"]: o["opt_value"] for o in shown["extra_dhcp_opts"]} == {
        "bootfile-name": "ipxe.efi", "tftp-server": "198.18.20.3",
        "server-ip-address": "198.18.20.4",
    }
    assert shown["revision_number"] == 1

    cli("port", "delete", "cli-port")
    assert cli("port", "list", "-f", "json", "--mac-address", "52:54:00:18:20:01") == []
    cli("subnet", "delete", "cli-subnet")
    cli("network", "delete", "cli-net")
    assert "cli-net" not in cli("network", "list", "-f", "value", "-c", "Name").split()
