"""A real ``metalnet serve`` over HTTP: concurrency, durability, clean stop."""

from __future__ import annotations

import asyncio
import collections
import os
import signal

import httpx
import pytest

from tests.factories import port_body, unique_mac
from tests.support.server import running_server, start_server

pytestmark = pytest.mark.integration


def _server_args(backend_url: str) -> tuple[str, ...]:
    return () if backend_url.startswith("sqlite") else ("--db", backend_url)


async def _setup(client: httpx.AsyncClient, cidr: str = "198.18.0.0/24") -> tuple[str, str]:
    net = await client.post("/v2.0/networks", json={"network": {"name": "rack"}})
    net_id = net.json()["network"]["id"]
    sub = await client.post("/v2.0/subnets", json={"subnet": {"network_id": net_id, "cidr": cidr}})
    assert sub.status_code == 201, sub.text
    return net_id, sub.json()["subnet"]["id"]


async def test_concurrent_port_creation(tmp_path, backend_url):
    """50 concurrent creations: no address twice; of 5 MACs sent 3 times each, one wins each."""
    with running_server(tmp_path, *_server_args(backend_url)) as url:
        limits = httpx.Limits(max_connections=60)
        async with httpx.AsyncClient(base_url=url, timeout=60, limits=limits) as client:
            net_id, _ = await _setup(client)
            duplicated = [unique_mac() for _ in range(5)]
            macs = [m for m in duplicated for _ in range(3)] + [unique_mac() for _ in range(35)]
            responses = await asyncio.gather(
                *(
                    client.post("/v2.0/ports", json={"port": port_body(net_id, mac_address=mac)})
                    for mac in macs
                )
            )
            ports = (await client.get("/v2.0/ports", params={"network_id": net_id})).json()["ports"]
    statuses = collections.Counter(r.status_code for r in responses)
    assert statuses == {201: 40, 409: 10}, [r.text for r in responses if r.status_code != 201]
    assert all(
        r.json()["NeutronError"]["type"] == "MacAddressInUse"
        for r in responses
        if r.status_code == 409
    )
    created = [r.json()["port"] for r in responses if r.status_code == 201]
    ips = [p["fixed_ips"][0]["ip_address"] for p in ports]
    assert len(ports) == 40 and len(set(ips)) == 40
    assert sorted(p["id"] for p in created) == sorted(p["id"] for p in ports)
    assert len({p["mac_address"] for p in ports}) == 40
    assert {p["mac_address"] for p in ports} >= set(duplicated)


async def test_concurrent_creation_on_a_small_pool(tmp_path, backend_url):
    """More requests than addresses: every address once, the rest IpAddressGenerationFailure."""
    with running_server(tmp_path, *_server_args(backend_url)) as url:
        async with httpx.AsyncClient(base_url=url, timeout=60) as client:
            net_id, _ = await _setup(client, "198.18.0.0/28")  # 13 pool addresses
            responses = await asyncio.gather(
                *(client.post("/v2.0/ports", json={"port": port_body(net_id)}) for _ in range(20))
            )
    ok = [r.json()["port"]["fixed_ips"][0]["ip_address"] for r in responses if r.status_code == 201]
    failed = [r.json()["NeutronError"]["type"] for r in responses if r.status_code != 201]
    assert len(ok) == len(set(ok)) == 13
    assert failed == ["IpAddressGenerationFailure"] * 7


def test_acknowledged_write_survives_kill_9(tmp_path, backend_url):
    server = start_server(tmp_path, *_server_args(backend_url))
    try:
        with httpx.Client(base_url=server.url, timeout=30) as client:
            net = client.post("/v2.0/networks", json={"network": {"name": "n"}}).json()["network"]
            response = client.post("/v2.0/ports", json={"port": port_body(net["id"])})
            assert response.status_code == 201
            os.kill(server.pid, signal.SIGKILL)
            server.process.wait(10)
    finally:
        server.stop()
    port = response.json()["port"]
    with running_server(tmp_path, *_server_args(backend_url)) as url:
        shown = httpx.get(f"{url}/v2.0/ports/{port['id']}", timeout=30)
    assert shown.status_code == 200 and shown.json()["port"] == port


def test_sigterm_stops_serve_with_exit_code_0(tmp_path):
    server = start_server(tmp_path)
    try:
        os.kill(server.pid, signal.SIGTERM)
        assert server.process.wait(15) == 0
    finally:
        server.stop()
