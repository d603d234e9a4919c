"""The address plan of bench/dhcp_rate.sh, for metalnet (over its API) and Kea (a config).

perfdhcp with ``-b mac=BASE -R N`` cycles through the MACs BASE+0 .. BASE+N-1
(the index added to the low octets, big-endian; see ``mac_of``), so the
registered scenarios register exactly those MACs: index i gets 198.19.0.0 + 10 + i
in the served subnet 198.18.0.0/15. The pool is 198.18.1.0 - 198.18.255.254
beside the fixed addresses, 198.18.1.0 - 198.19.255.254 in the pool scenario
(no fixed addresses); the server holds 198.18.0.1 and the relay (perfdhcp)
198.18.0.2. Unknown MACs come in blocks of 2**24 from 02:01:00:00:00:00, a
fresh block per perfdhcp run, so every exchange of the pool scenario is a
first allocation.

    dhcp_setup.py metalnet URL --ports N --policy ignore     # network, subnet, N ports
    dhcp_setup.py metalnet URL --first N --ports M           # add clients N .. M-1
    dhcp_setup.py mac registered --index I                   # perfdhcp -b mac=...
    dhcp_setup.py kea IFACE --reservations N --leases FILE --log FILE > kea.json
    dhcp_setup.py kea IFACE --pool --leases FILE --log FILE > kea.json
"""

from __future__ import annotations

import argparse
import ipaddress
import json
import sys
import time

import httpx

CIDR = "198.18.0.0/15"
SERVER = "198.18.0.1"
POOL_START = "198.18.1.0"
POOL_END_REGISTERED = "198.18.255.254"  # beside the fixed addresses in 198.19/16
POOL_END_DYNAMIC = "198.19.255.254"  # the pool scenario has no fixed addresses
NETWORK = "dhcp-bench"
FIRST_FIXED = int(ipaddress.IPv4Address("198.19.0.10"))
REGISTERED_BASE = 0x02_00_00_00_00_00
UNKNOWN_BASE = 0x02_01_00_00_00_00
MAX_PORTS = 65_000
BATCH = 1000


def mac_of(index: int, base: int = REGISTERED_BASE) -> str:
    """The MAC perfdhcp generates for client ``index`` from template ``base``.

    perfdhcp adds the index's bytes to the template's octets from the last one
    up, without carry; with zero low octets in the template that is ``base + index``.
    """
    value = (base + index).to_bytes(6, "big")
    return ":".join(f"{b:02x}" for b in value)


def ip_of(index: int) -> str:
    """The fixed address of registered client ``index``."""
    return str(ipaddress.IPv4Address(FIRST_FIXED + index))


def setup_metalnet(
    url: str, first: int, ports: int, policy: str, pool_end: str, timeout: float
) -> None:
    """The bench network (``unknown_mac_policy`` = ``policy``) and its subnet, made
    when absent, and the ports of clients ``first`` .. ``ports - 1``."""
    deadline = time.monotonic() + timeout
    with httpx.Client(base_url=url, timeout=60.0) as client:

        def post(path: str, body: dict[str, object]) -> dict[str, object]:
            if time.monotonic() > deadline:
                raise SystemExit(f"setup took longer than {timeout} s")
            response = client.post(path, json=body)
            if response.status_code != 201:
                raise SystemExit(f"POST {path}: {response.status_code} {response.text[:500]}")
            answer: dict[str, object] = response.json()
            return answer

        existing = client.get("/v2.0/networks", params={"name": NETWORK}).json()["networks"]
        if existing:
            network_id = existing[0]["id"]
        else:
            network = post("/v2.0/networks", {"network": {
                "name": NETWORK, "provider:network_type": "flat",
                "provider:physical_network": "ctl", "unknown_mac_policy": policy}})
            network_id = network["network"]["id"]  # type: ignore[index]
            post("/v2.0/subnets", {"subnet": {
                "network_id": network_id, "ip_version": 4, "cidr": CIDR, "gateway_ip": SERVER,
                "allocation_pools": [{"start": POOL_START, "end": pool_end}]}})
        for start in range(first, ports, BATCH):
            batch = range(start, min(ports, start + BATCH))
            post("/v2.0/ports", {"ports": [
                {"network_id": network_id, "mac_address": mac_of(i), "name": f"bench-{i}",
                 "fixed_ips": [{"ip_address": ip_of(i)}]}
                for i in batch
            ]})


def kea_config(interface: str, reservations: int, pool: bool, leases: str, log: str) -> dict:
    """A kea-dhcp4 config serving the same subnet, reservations and pool as metalnet.

    Kea is given its fastest settings for this test: reservations looked up by
    hw-address only, logging at WARN (no line per lease), memfile without
    lease-file cleanup during the run. It stays single-threaded, as in the
    reference figures of the issue.
    """
    subnet: dict[str, object] = {
        "id": 1,
        "subnet": CIDR,
        "option-data": [{"name": "routers", "data": SERVER}],
        "reservations": [
            {"hw-address": mac_of(i), "ip-address": ip_of(i)} for i in range(reservations)
        ],
    }
    if pool:
        subnet["pools"] = [{"pool": f"{POOL_START} - {POOL_END_DYNAMIC}"}]
    return {"Dhcp4": {
        "interfaces-config": {"interfaces": [interface], "dhcp-socket-type": "udp"},
        "lease-database": {"type": "memfile", "persist": True, "name": leases,
                           "lfc-interval": 0},
        "multi-threading": {"enable-multi-threading": False},
        "host-reservation-identifiers": ["hw-address"],
        "valid-lifetime": 86400,
        "subnet4": [subnet],
        "loggers": [{"name": "kea-dhcp4", "severity": "WARN",
                     "output_options": [{"output": log}]}],
    }}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    m = sub.add_parser("metalnet", help="create the network, subnet and ports over the API")
    m.add_argument("url")
    m.add_argument("--ports", type=int, default=0, help="clients 0 .. N-1 have ports")
    m.add_argument("--first", type=int, default=0, help="the ports of lower clients exist")
    m.add_argument("--policy", default="ignore")
    m.add_argument("--timeout", type=float, default=120.0)
    k = sub.add_parser("kea", help="print a kea-dhcp4 config")
    k.add_argument("interface")
    k.add_argument("--reservations", type=int, default=0)
    k.add_argument("--pool", action="store_true")
    k.add_argument("--leases", required=True)
    k.add_argument("--log", required=True)
    t = sub.add_parser("mac", help="print a perfdhcp MAC template")
    t.add_argument("kind", choices=["registered", "unknown"])
    t.add_argument("--index", type=int, default=0,
                   help="registered: start at this client; unknown: the Nth fresh block")
    args = parser.parse_args()
    if args.command == "metalnet":
        if args.ports > MAX_PORTS:
            raise SystemExit(f"at most {MAX_PORTS} ports fit the plan")
        pool_end = POOL_END_DYNAMIC if args.policy == "pool" else POOL_END_REGISTERED
        setup_metalnet(args.url, args.first, args.ports, args.policy, pool_end, args.timeout)
    elif args.command == "kea":
        json.dump(kea_config(args.interface, args.reservations, args.pool, args.leases,
                             args.log), sys.stdout)
    else:
        if args.kind == "registered":
            print(mac_of(args.index))
        else:
            print(mac_of(0, UNKNOWN_BASE + (args.index << 24)))


if __name__ == "__main__":
    main()
