"""Test data with keyword overrides: API bodies, domain objects, and API helpers.

``network_body(**o)`` / ``subnet_body(net_id, **o)`` / ``port_body(net_id, **o)`` are
the inner dicts of a POST; ``make_network(**o)`` / ``make_subnet(...)`` /
``make_port(...)`` are domain objects for the store; ``create_*`` post through an
``httpx.AsyncClient`` and return the created resource, failing on any non-201.
"""

from __future__ import annotations

import itertools
import uuid
from datetime import UTC, datetime
from typing import Any

import httpx

from metalnet.core.model import AllocationPool, FixedIP, Network, Port, Subnet

_counter = itertools.count(1)


def unique_mac() -> str:
    """A fresh locally administered unicast MAC (``02:...``)."""
    n = next(_counter)
    return "02:00:" + ":".join(f"{(n >> s) & 0xFF:02x}" for s in (24, 16, 8, 0))


def network_body(**overrides: Any) -> dict[str, Any]:
    return {"name": f"net-{next(_counter)}", **overrides}


def subnet_body(network_id: str, **overrides: Any) -> dict[str, Any]:
    return {"network_id": network_id, "cidr": "198.18.0.0/24", "ip_version": 4, **overrides}


def port_body(network_id: str, **overrides: Any) -> dict[str, Any]:
    return {"network_id": network_id, "mac_address": unique_mac(), **overrides}


def _now() -> datetime:
    return datetime.now(UTC).replace(microsecond=0)


def make_network(**overrides: Any) -> Network:
    fields: dict[str, Any] = {
        "id": str(uuid.uuid4()),
        "project_id": "p1",
        "name": f"net-{next(_counter)}",
        "created_at": _now(),
        "updated_at": _now(),
    }
    return Network(**{**fields, **overrides})


def make_subnet(network_id: str, cidr: str = "198.18.0.0/24", **overrides: Any) -> Subnet:
    prefix = cidr.rsplit(".", 1)[0]
    fields: dict[str, Any] = {
        "id": str(uuid.uuid4()),
        "network_id": network_id,
        "project_id": "p1",
        "cidr": cidr,
        "gateway_ip": f"{prefix}.1",
        "allocation_pools": (AllocationPool(f"{prefix}.2", f"{prefix}.254"),),
        "created_at": _now(),
        "updated_at": _now(),
    }
    return Subnet(**{**fields, **overrides})


def make_port(network_id: str, *ips: tuple[str, str], **overrides: Any) -> Port:
    """A port; ``ips`` are (subnet_id, address) pairs."""
    fields: dict[str, Any] = {
        "id": str(uuid.uuid4()),
        "network_id": network_id,
        "project_id": "p1",
        "mac_address": unique_mac(),
        "fixed_ips": tuple(FixedIP(s, a) for s, a in ips),
        "created_at": _now(),
        "updated_at": _now(),
    }
    return Port(**{**fields, **overrides})


async def _create(client: httpx.AsyncClient, kind: str, body: dict[str, Any]) -> dict[str, Any]:
    response = await client.post(f"/v2.0/{kind}s", json={kind: body})
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()[kind]
    return created


async def create_network(client: httpx.AsyncClient, **overrides: Any) -> dict[str, Any]:
    return await _create(client, "network", network_body(**overrides))


async def create_subnet(
    client: httpx.AsyncClient, network_id: str, **overrides: Any
) -> dict[str, Any]:
    return await _create(client, "subnet", subnet_body(network_id, **overrides))


async def create_port(
    client: httpx.AsyncClient, network_id: str, **overrides: Any
) -> dict[str, Any]:
    return await _create(client, "port", port_body(network_id, **overrides))


async def create_net_and_subnet(
    client: httpx.AsyncClient, **subnet_overrides: Any
) -> tuple[dict[str, Any], dict[str, Any]]:
    """A network with one subnet (198.18.0.0/24 unless overridden)."""
    network = await create_network(client)
    return network, await create_subnet(client, network["id"], **subnet_overrides)
