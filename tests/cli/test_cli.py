"""``metalnet`` commands against a real ``metalnet serve``."""

from __future__ import annotations

import json
import subprocess

import pytest

from metalnet.cli.main import main
from tests.support.server import METALNET, running_server

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def server_url(tmp_path_factory):
    with running_server(tmp_path_factory.mktemp("cli")) as url:
        yield url


@pytest.fixture
def cli(server_url, capsys):
    """Run ``metalnet ARGS --url URL`` in-process; (exit status, stdout, stderr)."""

    def run(*args: str) -> tuple[int, str, str]:
        status = main([*args, "--url", server_url])
        out, err = capsys.readouterr()
        return status, out, err

    return run


def cli_json(cli, *args: str):
    status, out, err = cli(*args, "-f", "json")
    assert status == 0, err
    return json.loads(out)


def test_network_subnet_port_lifecycle(cli):
    net = cli_json(
        cli,
        "network",
        "create",
        "rack-a",
        "--physical-network",
        "physnet1",
        "--unknown-mac-policy",
        "delay:5",
        "--mtu",
        "9000",
    )
    assert (
        net["name"],
        net["provider:physical_network"],
        net["unknown_mac_policy"],
        net["mtu"],
    ) == ("rack-a", "physnet1", "delay:5", 9000)
    subnet = cli_json(
        cli,
        "subnet",
        "create",
        "rack-a-v4",
        "--network",
        "rack-a",
        "--subnet-range",
        "198.18.4.0/24",
        "--dns-nameserver",
        "198.18.4.53",
        "--allocation-pool",
        "start=198.18.4.10,end=198.18.4.20",
    )
    assert subnet["network_id"] == net["id"] and subnet["dns_nameservers"] == ["198.18.4.53"]
    port = cli_json(
        cli,
        "port",
        "create",
        "node1",
        "--network",
        "rack-a",
        "--mac-address",
        "52:54:00:AA:00:01",
        "--extra-dhcp-opt",
        "name=tag:ipxe,bootfile-name,value=http://198.18.4.1/x.ipxe",
        "--extra-dhcp-opt",
        "name=tftp-server-address,value=198.18.4.1",
        "--host",
        "hv1",
        "--vnic-type",
        "baremetal",
    )
    assert port["mac_address"] == "52:54:00:aa:00:01"
    assert port["fixed_ips"] == [{"subnet_id": subnet["id"], "ip_address": "198.18.4.10"}]
    assert {o["opt_name"] for o in port["extra_dhcp_opts"]} == {
        "tag:ipxe,bootfile-name",
        "tftp-server-address",
    }
    fixed = cli_json(
        cli,
        "port",
        "create",
        "--network",
        net["id"],
        "--fixed-ip",
        "subnet=rack-a-v4,ip-address=198.18.4.15",
    )
    assert fixed["fixed_ips"][0]["ip_address"] == "198.18.4.15"
    bare = cli_json(cli, "port", "create", "--network", net["id"], "--no-fixed-ip")
    assert bare["fixed_ips"] == []

    found = cli_json(cli, "port", "list", "--mac-address", "52:54:00:aa:00:01")
    assert [p["id"] for p in found] == [port["id"]]
    assert len(cli_json(cli, "port", "list", "--network", "rack-a")) == 3
    assert cli_json(cli, "port", "show", "node1")["id"] == port["id"]

    updated = cli_json(
        cli,
        "port",
        "update",
        "node1",
        "--name",
        "node1b",
        "--extra-dhcp-opt",
        "name=tftp-server-address",
        "--disable",
    )
    assert updated["name"] == "node1b" and updated["admin_state_up"] is False
    assert [o["opt_name"] for o in updated["extra_dhcp_opts"]] == ["tag:ipxe,bootfile-name"]
    assert (
        cli_json(cli, "network", "update", "rack-a", "--unknown-mac-policy", "pool")[
            "unknown_mac_policy"
        ]
        == "pool"
    )
    assert cli_json(cli, "subnet", "update", "rack-a-v4", "--gateway", "none")["gateway_ip"] is None

    status, _, err = cli("network", "delete", "rack-a")
    assert status == 1 and "NetworkInUse" in err
    assert cli("port", "delete", "node1b", fixed["id"], bare["id"])[0] == 0
    assert cli("subnet", "delete", "rack-a-v4")[0] == 0
    assert cli("network", "delete", "rack-a")[0] == 0
    status, _, err = cli("network", "show", "rack-a")
    assert status == 1 and "No network" in err


def test_table_output(cli):
    cli_json(cli, "network", "create", "tabled")
    status, out, _ = cli("network", "list")
    assert status == 0
    lines = out.splitlines()
    assert lines[0].startswith("+-") and lines[1].startswith("| id ") and "name" in lines[1]
    assert any("tabled" in line for line in lines)
    status, out, _ = cli("network", "show", "tabled")
    assert status == 0 and "| Field" in out and "| unknown_mac_policy" in out
    assert cli("network", "delete", "tabled")[0] == 0


def test_errors_exit_1_with_the_api_message(cli):
    status, _, err = cli("network", "create", "bad", "--mtu", "5")
    assert status == 1 and "mtu" in err
    status, _, err = cli("port", "create", "--network", "no-such-net")
    assert status == 1 and "no-such-net" in err
    status, _, err = cli("network", "update", "no-such-net", "--mtu", "1500")
    assert status == 1


def test_cli_cannot_reach_api(capsys):
    assert main(["network", "list", "--url", "http://127.0.0.1:9"]) == 1
    assert "cannot reach" in capsys.readouterr().err


def test_token_create_then_use_it(tmp_path):
    state = tmp_path / "state"
    created = subprocess.run(
        [
            str(METALNET),
            "token",
            "create",
            "--project",
            "ops",
            "--admin",
            "--state-dir",
            str(state),
            "-f",
            "json",
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    secret = json.loads(created.stdout)["token"]
    with running_server(tmp_path) as url:  # a token exists: token auth even on loopback

        def run(*args: str) -> subprocess.CompletedProcess[str]:
            return subprocess.run(
                [str(METALNET), *args, "--url", url], capture_output=True, text=True, timeout=60
            )

        denied = run("network", "list")
        assert denied.returncode == 1 and "NotAuthenticated" in denied.stderr
        made = run("network", "create", "tok-net", "--token", secret, "-f", "json")
        assert made.returncode == 0, made.stderr
        assert json.loads(made.stdout)["project_id"] == "ops"
        listed = run("network", "list", "--token", secret, "-f", "json")
        assert [n["name"] for n in json.loads(listed.stdout)] == ["tok-net"]
    listing = subprocess.run(
        [str(METALNET), "token", "list", "--state-dir", str(state), "-f", "json"],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    assert [t["project_id"] for t in json.loads(listing.stdout)] == ["ops"]
    assert secret not in listing.stdout
