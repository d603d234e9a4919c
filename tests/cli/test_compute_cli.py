"""``metalnet hypervisor|node|instance`` and the HTTP network API against a real
``metalnet serve`` (no DHCP interface: readiness comes from heartbeats)."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest

from metalnet.cli.main import main
from metalnet.compute.attach import Attacher, Attachment
from metalnet.compute.cache import NetworkCache
from metalnet.compute.network_api import HttpNetworkApi
from metalnet.core.model import Node, NodeMac
from metalnet.errors import NotFound, PreconditionFailed
from tests.support.server import running_server

Cli = Callable[..., Any]


@pytest.fixture(scope="module")
def server_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with running_server(tmp_path_factory.mktemp("compute-cli")) as url:
        yield url


@pytest.fixture
def cli(server_url: str, capsys: pytest.CaptureFixture[str]) -> Cli:
    def run(*args: str) -> Any:
        capsys.readouterr()
        status = main([*args, "--url", server_url, "-f", "json"])
        out, err = capsys.readouterr()
        assert status == 0, err
        return json.loads(out) if out.strip() else None

    return run


def _network_with_port(url: str, mac: str) -> tuple[dict[str, Any], dict[str, Any]]:
    with httpx.Client(base_url=url) as http:
        network = http.post("/v2.0/networks", json={"network": {
            "name": f"ctl-{mac[-2:]}", "provider:physical_network": "ctl"}}).json()["network"]
        http.post("/v2.0/subnets", json={"subnet": {
            "network_id": network["id"], "cidr": "198.18.50.0/24", "ip_version": 4}})
        port = http.post("/v2.0/ports", json={"port": {
            "network_id": network["id"], "mac_address": mac}}).json()["port"]
    return network, port


def test_hypervisor_node_and_instance_commands(cli: Cli, server_url: str) -> None:
    hv = cli("hypervisor", "create", "hv1", "--boot-address", "198.18.50.2",
             "--physical-network", "ctl")
    assert hv["alive"] is False
    assert cli("hypervisor", "heartbeat", "hv1")["alive"] is True
    node = cli("node", "create", "n1", "--mac", "52:54:00:50:00:01,switch_id=sw1,port_id=7",
               "--firmware", "bios")
    assert node["macs"] == [{"mac": "52:54:00:50:00:01", "switch_id": "sw1", "port_id": "7"}]
    assert node["effective_owner"] == "hv1"
    assert cli("node", "provide", "n1")["state"] == "available"
    network, port = _network_with_port(server_url, "52:54:00:50:00:01")

    instance = cli("instance", "create", "web", "--node", "n1", "--network", network["name"])
    assert instance["status"] == "active" and instance["ready"] is False
    assert instance["ports"][0]["port_id"] == port["id"]
    # The owner reports its view has applied the spawn: the instance is ready.
    cli("hypervisor", "heartbeat", "hv1", "--view-revision", str(instance["ready_revision"]))
    assert cli("instance", "show", instance["id"])["ready"] is True
    assert [(i["id"], i["ready"]) for i in cli("instance", "list")] == [(instance["id"], True)]
    assert [n["name"] for n in cli("node", "list")] == ["n1"]
    assert cli("node", "update", "n1", "--owner", "hv1")["owner"] == "hv1"
    assert cli("node", "update", "n1", "--no-owner")["owner"] is None
    cli("instance", "delete", instance["id"])
    assert cli("instance", "list") == []
    assert cli("node", "show", "n1")["state"] == "available"


def test_the_http_network_api_revalidates_and_maps_errors(server_url: str) -> None:
    mac = "52:54:00:50:00:02"
    network, port = _network_with_port(server_url, mac)
    api = HttpNetworkApi(server_url)
    try:
        assert api.show("ports", port["id"], port["revision_number"]) is None  # 304
        assert api.show("ports", port["id"])["mac_address"] == mac  # type: ignore[index]
        assert [p["id"] for p in api.find_ports({"mac_address": mac})] == [port["id"]]
        with pytest.raises(PreconditionFailed):
            api.update_port(port["id"], {"device_id": "x"}, port["revision_number"] + 7)
        with pytest.raises(NotFound):
            api.show("ports", "no-such-port")

        cache = NetworkCache(api)
        attacher = Attacher(cache, {})
        node = Node(id="n2", name="n2", macs=(NodeMac(mac),))
        for cycle in range(3):
            request = Attachment(f"i{cycle}", node, "hv1")
            attached = attacher.allocate_for_instance(request, [network["id"]])
            assert api.show("ports", port["id"])["binding:host_id"] == "hv1"  # type: ignore[index]
            attacher.deallocate_for_instance(f"i{cycle}", attached)
        assert cache.stats.searches == 1 and cache.stats.searches_saved == 2
        assert cache.stats.not_modified >= 4  # network and port reads answered 304
    finally:
        api.close()
