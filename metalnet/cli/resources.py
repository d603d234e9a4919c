"""``metalnet network|subnet|port create/list/show/update/delete`` over the API."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from metalnet.cli.client import ApiClient, CliError, client_for
from metalnet.cli.output import print_item, print_list


def key_values(text: str) -> dict[str, str]:
    """``a=1,b=2`` -> ``{"a": "1", "b": "2"}`` (values may contain ``=``)."""
    pairs = {}
    for part in text.split(","):
        key, sep, value = part.partition("=")
        if not sep:
            raise argparse.ArgumentTypeError(f"'{part}' is not KEY=VALUE")
        pairs[key.strip()] = value
    return pairs


def dhcp_opt(text: str) -> dict[str, Any]:
    """``name=OPTION[,value=VALUE]``; OPTION may hold a comma (``tag:ipxe,bootfile-name``)."""
    if not text.startswith("name="):
        raise argparse.ArgumentTypeError(f"'{text}' is not name=OPTION,value=VALUE")
    name, sep, value = text[len("name=") :].partition(",value=")
    return {"opt_name": name, "opt_value": value if sep else None}


Body = Callable[[argparse.Namespace, ApiClient], dict[str, Any]]


@dataclass(frozen=True)
class ResourceCommands:
    """How the CLI creates, updates and lists one resource."""

    plural: str
    columns: tuple[str, ...]
    add_create_args: Callable[[argparse.ArgumentParser], None]
    add_update_args: Callable[[argparse.ArgumentParser], None]
    create_body: Body
    update_body: Body
    list_filters: dict[str, str]

    @property
    def singular(self) -> str:
        return self.plural[:-1]


def set_given(body: dict[str, Any], key: str, value: Any) -> None:
    """``body[key] = value``, unless the option was not given (``None``)."""
    if value is not None:
        body[key] = value


# --- networks -----------------------------------------------------------------

def _network_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--physical-network")
    parser.add_argument("--network-type", choices=["flat", "vlan"])
    parser.add_argument("--segmentation-id", type=int)
    parser.add_argument("--unknown-mac-policy", help="ignore, pool, discover, delay:N or proxy")
    parser.add_argument("--mtu", type=int)
    parser.add_argument("--description")
    share = parser.add_mutually_exclusive_group()
    share.add_argument("--share", dest="shared", action="store_const", const=True)
    share.add_argument("--no-share", dest="shared", action="store_const", const=False)
    boot = parser.add_mutually_exclusive_group()
    boot.add_argument("--boot-dhcp-opt", action="append", type=dhcp_opt,
                      metavar="name=OPTION,value=VALUE",
                      help="repeatable; the network's boot options, instead of this host's "
                           "defaults (on update: replaces them all)")
    boot.add_argument("--no-boot-dhcp-opts", action="store_true",
                      help="back to this host's default boot options")
    discovery = parser.add_mutually_exclusive_group()
    discovery.add_argument("--discovery-profile", metavar="NAME|ID",
                           help="boot profile of unknown machines (discover policy)")
    discovery.add_argument("--no-discovery-profile", action="store_true")


def _network_body(args: argparse.Namespace, _client: ApiClient) -> dict[str, Any]:
    body: dict[str, Any] = {}
    set_given(body, "name", getattr(args, "name", None) or getattr(args, "new_name", None))
    set_given(body, "provider:physical_network", args.physical_network)
    set_given(body, "provider:network_type", args.network_type)
    set_given(body, "provider:segmentation_id", args.segmentation_id)
    set_given(body, "unknown_mac_policy", args.unknown_mac_policy)
    set_given(body, "mtu", args.mtu)
    set_given(body, "description", args.description)
    set_given(body, "shared", args.shared)
    if args.no_boot_dhcp_opts:
        body["boot_dhcp_opts"] = []
    set_given(body, "boot_dhcp_opts", args.boot_dhcp_opt)
    if args.no_discovery_profile:
        body["discovery_profile"] = None
    set_given(body, "discovery_profile", args.discovery_profile)
    return body


# --- subnets ------------------------------------------------------------------

def _subnet_update_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--gateway", help="gateway address, or 'none'")
    parser.add_argument("--allocation-pool", action="append", type=key_values,
                        metavar="start=IP,end=IP")
    parser.add_argument("--dns-nameserver", action="append", metavar="IP")
    parser.add_argument("--host-route", action="append", type=key_values,
                        metavar="destination=CIDR,gateway=IP")
    parser.add_argument("--description")
    dhcp = parser.add_mutually_exclusive_group()
    dhcp.add_argument("--dhcp", dest="enable_dhcp", action="store_const", const=True)
    dhcp.add_argument("--no-dhcp", dest="enable_dhcp", action="store_const", const=False)


def _subnet_create_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--network", required=True, help="network name or id")
    parser.add_argument("--subnet-range", "--cidr", dest="cidr", required=True, metavar="CIDR")
    _subnet_update_args(parser)


def _subnet_body(args: argparse.Namespace, client: ApiClient) -> dict[str, Any]:
    body: dict[str, Any] = {}
    set_given(body, "name", getattr(args, "name", None) or getattr(args, "new_name", None))
    if getattr(args, "network", None):
        body["network_id"] = client.find("networks", args.network)["id"]
        body["cidr"] = args.cidr
        body["ip_version"] = 4
    if args.gateway is not None:
        body["gateway_ip"] = None if args.gateway.lower() == "none" else args.gateway
    if args.allocation_pool:
        body["allocation_pools"] = [
            {"start": p["start"], "end": p["end"]} for p in args.allocation_pool
        ]
    set_given(body, "dns_nameservers", args.dns_nameserver)
    if args.host_route:
        body["host_routes"] = [
            {"destination": r["destination"], "nexthop": r.get("gateway", r.get("nexthop"))}
            for r in args.host_route
        ]
    set_given(body, "description", args.description)
    set_given(body, "enable_dhcp", args.enable_dhcp)
    return body


# --- ports --------------------------------------------------------------------

def _port_update_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--mac-address")
    parser.add_argument("--fixed-ip", action="append", type=key_values,
                        metavar="subnet=SUBNET,ip-address=IP")
    parser.add_argument("--no-fixed-ip", action="store_true", help="hold no address")
    parser.add_argument("--extra-dhcp-opt", action="append", type=dhcp_opt,
                        metavar="name=OPTION,value=VALUE",
                        help="repeatable; name may carry tag:ipxe, (no value deletes on update)")
    parser.add_argument("--host", help="binding:host_id")
    parser.add_argument("--vnic-type", choices=["normal", "baremetal"])
    parser.add_argument("--device-id")
    parser.add_argument("--device-owner")
    parser.add_argument("--description")
    profile = parser.add_mutually_exclusive_group()
    profile.add_argument("--boot-profile", metavar="NAME|ID", help="what the machine boots")
    profile.add_argument("--no-boot-profile", action="store_true",
                         help="boot the local disk (no profile)")
    state = parser.add_mutually_exclusive_group()
    state.add_argument("--enable", dest="admin_state_up", action="store_const", const=True)
    state.add_argument("--disable", dest="admin_state_up", action="store_const", const=False)


def _port_create_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--network", required=True, help="network name or id")
    _port_update_args(parser)


def _fixed_ip(entry: dict[str, str], client: ApiClient) -> dict[str, str]:
    fixed = {}
    if "subnet" in entry:
        fixed["subnet_id"] = client.find("subnets", entry["subnet"])["id"]
    if "ip-address" in entry:
        fixed["ip_address"] = entry["ip-address"]
    if not fixed:
        raise CliError("--fixed-ip needs subnet=... and/or ip-address=...")
    return fixed


def _port_body(args: argparse.Namespace, client: ApiClient) -> dict[str, Any]:
    body: dict[str, Any] = {}
    set_given(body, "name", getattr(args, "name", None) or getattr(args, "new_name", None))
    if getattr(args, "network", None):
        body["network_id"] = client.find("networks", args.network)["id"]
    set_given(body, "mac_address", args.mac_address)
    if args.no_fixed_ip:
        body["fixed_ips"] = []
    elif args.fixed_ip:
        body["fixed_ips"] = [_fixed_ip(entry, client) for entry in args.fixed_ip]
    set_given(body, "extra_dhcp_opts", args.extra_dhcp_opt)
    set_given(body, "binding:host_id", args.host)
    set_given(body, "binding:vnic_type", args.vnic_type)
    set_given(body, "device_id", args.device_id)
    set_given(body, "device_owner", args.device_owner)
    set_given(body, "description", args.description)
    set_given(body, "admin_state_up", args.admin_state_up)
    if args.no_boot_profile:
        body["boot_profile"] = None
    set_given(body, "boot_profile", args.boot_profile)
    return body


RESOURCES = (
    ResourceCommands(
        "networks",
        ("id", "name", "provider:physical_network", "unknown_mac_policy", "subnets"),
        _network_args, _network_args, _network_body, _network_body,
        {"name": "name", "physical_network": "provider:physical_network"},
    ),
    ResourceCommands(
        "subnets",
        ("id", "name", "network_id", "cidr", "gateway_ip", "allocation_pools"),
        _subnet_create_args, _subnet_update_args, _subnet_body, _subnet_body,
        {"name": "name", "network": "network_id"},
    ),
    ResourceCommands(
        "ports",
        ("id", "name", "mac_address", "fixed_ips", "status"),
        _port_create_args, _port_update_args, _port_body, _port_body,
        {"name": "name", "network": "network_id", "mac_address": "mac_address",
         "device_id": "device_id", "host": "binding:host_id"},
    ),
)


def _run_create(spec: ResourceCommands, args: argparse.Namespace, client: ApiClient) -> None:
    body = spec.create_body(args, client)
    created = client.request("POST", f"/v2.0/{spec.plural}", json={spec.singular: body})
    print_item(created[spec.singular], args.format)


def _run_list(spec: ResourceCommands, args: argparse.Namespace, client: ApiClient) -> None:
    params: list[tuple[str, str]] = []
    for option, api_name in spec.list_filters.items():
        value = getattr(args, option, None)
        if value and option == "network":
            value = client.find("networks", value)["id"]
        if value:
            params.append((api_name, value))
    items = client.request("GET", f"/v2.0/{spec.plural}", params=params)[spec.plural]
    print_list(items, spec.columns, args.format)


def _run_show(spec: ResourceCommands, args: argparse.Namespace, client: ApiClient) -> None:
    print_item(client.find(spec.plural, args.ref), args.format)


def _run_update(spec: ResourceCommands, args: argparse.Namespace, client: ApiClient) -> None:
    current = client.find(spec.plural, args.ref)
    body = spec.update_body(args, client)
    if not body:
        raise CliError("nothing to update: give at least one option")
    updated = client.request(
        "PUT", f"/v2.0/{spec.plural}/{current['id']}", json={spec.singular: body}
    )
    print_item(updated[spec.singular], args.format)


def _run_delete(spec: ResourceCommands, args: argparse.Namespace, client: ApiClient) -> None:
    for ref in args.refs:
        current = client.find(spec.plural, ref)
        client.request("DELETE", f"/v2.0/{spec.plural}/{current['id']}")


Run = Callable[[ResourceCommands, argparse.Namespace, ApiClient], None]


def _handler(run: Run, spec: ResourceCommands) -> Callable[[argparse.Namespace], None]:
    return lambda args: run(spec, args, client_for(args))


def add_resource_commands(subparsers: Any, parent: argparse.ArgumentParser) -> None:
    """Register ``network``, ``subnet`` and ``port`` with their actions."""
    for spec in RESOURCES:
        group = subparsers.add_parser(spec.singular, help=f"manage {spec.plural}")
        actions = group.add_subparsers(dest="action", required=True)

        create = actions.add_parser("create", parents=[parent], help=f"create a {spec.singular}")
        create.add_argument("name", nargs="?" if spec.singular == "port" else None)
        spec.add_create_args(create)
        create.set_defaults(handler=_handler(_run_create, spec))

        listing = actions.add_parser("list", parents=[parent], help=f"list {spec.plural}")
        for option in spec.list_filters:
            listing.add_argument("--" + option.replace("_", "-"), dest=option)
        listing.set_defaults(handler=_handler(_run_list, spec))

        show = actions.add_parser("show", parents=[parent], help=f"show a {spec.singular}")
        show.add_argument("ref", help="name or id")
        show.set_defaults(handler=_handler(_run_show, spec))

        update = actions.add_parser("update", parents=[parent], help=f"change a {spec.singular}")
        update.add_argument("ref", help="name or id")
        update.add_argument("--name", dest="new_name")
        spec.add_update_args(update)
        update.set_defaults(handler=_handler(_run_update, spec))

        delete = actions.add_parser("delete", parents=[parent], help=f"delete {spec.plural}")
        delete.add_argument("refs", nargs="+", help="names or ids")
        delete.set_defaults(handler=_handler(_run_delete, spec))
