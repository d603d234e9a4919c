"""``metalnet hypervisor|node|instance ...`` over the ``/v1`` API.

``instance create --wait SECONDS`` returns once the instance is ``ready`` (its
DHCP answer and boot files are served), polling ``GET /v1/instances/ID``.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from typing import Any

from metalnet.cli.client import ApiClient, CliError, client_for
from metalnet.cli.output import print_item, print_list
from metalnet.cli.resources import dhcp_opt, key_values, set_given

HYPERVISOR_COLUMNS = ("name", "boot_address", "http_boot_url", "physical_networks", "alive",
                      "last_heartbeat")
NODE_COLUMNS = ("name", "state", "effective_owner", "owner", "macs", "instance_id")
INSTANCE_COLUMNS = ("id", "name", "node_id", "status", "ready")
WAIT_INTERVAL = 0.25

Handler = Callable[[argparse.Namespace, ApiClient], None]


def _mac(text: str) -> dict[str, str]:
    """``MAC[,switch_id=S,port_id=P]`` -> a node MAC entry."""
    mac, _, rest = text.partition(",")
    return {"mac": mac, **(key_values(rest) if rest else {})}


# --- hypervisors --------------------------------------------------------------------

def _hypervisor_args(parser: argparse.ArgumentParser, create: bool) -> None:
    parser.add_argument("--boot-address", required=create, metavar="IP",
                        help="next-server and TFTP server of its nodes")
    parser.add_argument("--http-boot-url", metavar="URL", help="base of its HTTP boot")
    parser.add_argument("--physical-network", action="append", dest="physical_networks")
    parser.add_argument("--dhcp-opt", action="append", type=dhcp_opt, dest="dhcp_opts",
                        metavar="name=OPTION,value=VALUE", help="replaces the option set")
    parser.add_argument("--description")


def _hypervisor_body(args: argparse.Namespace) -> dict[str, Any]:
    body: dict[str, Any] = {}
    set_given(body, "name", getattr(args, "name", None))
    set_given(body, "boot_address", args.boot_address)
    set_given(body, "http_boot_url", args.http_boot_url)
    set_given(body, "physical_networks", args.physical_networks)
    set_given(body, "dhcp_opts", args.dhcp_opts)
    set_given(body, "description", args.description)
    return body


def _heartbeat(args: argparse.Namespace, client: ApiClient) -> None:
    body = {"heartbeat": {"view_revision": args.view_revision}}
    answer = client.request("POST", f"/v1/hypervisors/{args.ref}/heartbeat", json=body)
    print_item(answer["hypervisor"], args.format)


# --- nodes --------------------------------------------------------------------------

def _node_args(parser: argparse.ArgumentParser, create: bool) -> None:
    parser.add_argument("--mac", action="append", type=_mac, dest="macs",
                        metavar="MAC[,switch_id=S,port_id=P]", help="repeatable"
                        + ("" if create else "; replaces every MAC"))
    parser.add_argument("--boot-profile", metavar="NAME|ID")
    parser.add_argument("--firmware", choices=["bios", "uefi", "auto"])
    owner = parser.add_mutually_exclusive_group()
    owner.add_argument("--owner", metavar="HYPERVISOR", help="pin to a hypervisor")
    if not create:
        owner.add_argument("--no-owner", action="store_true", help="unpin (the ring decides)")
    parser.add_argument("--description")


def _node_body(args: argparse.Namespace) -> dict[str, Any]:
    body: dict[str, Any] = {}
    set_given(body, "name", getattr(args, "name", None))
    set_given(body, "macs", args.macs)
    set_given(body, "boot_profile", args.boot_profile)
    set_given(body, "firmware", args.firmware)
    set_given(body, "owner", args.owner)
    if getattr(args, "no_owner", False):
        body["owner"] = None
    set_given(body, "description", args.description)
    return body


def _node_action(action: str) -> Handler:
    def run(args: argparse.Namespace, client: ApiClient) -> None:
        answer = client.request("POST", f"/v1/nodes/{args.ref}/actions", json={"action": action})
        print_item(answer["node"], args.format)

    return run


# --- instances ----------------------------------------------------------------------

def _instance_args(parser: argparse.ArgumentParser, _create: bool) -> None:
    parser.add_argument("--node", required=True, metavar="NAME|ID")
    parser.add_argument("--network", action="append", dest="networks", default=[],
                        metavar="NAME|ID", help="attach to a network (repeatable)")
    parser.add_argument("--port", action="append", dest="ports", default=[],
                        metavar="ID", help="bind this port (repeatable)")
    parser.add_argument("--boot-profile", metavar="NAME|ID")
    parser.add_argument("--wait", type=float, metavar="SECONDS",
                        help="return once the instance is ready to boot")


def _instance_body(args: argparse.Namespace, client: ApiClient) -> dict[str, Any]:
    body: dict[str, Any] = {"node": args.node, "ports": args.ports,
                            "networks": [client.find("networks", n)["id"] for n in args.networks]}
    set_given(body, "name", args.name)
    set_given(body, "boot_profile", args.boot_profile)
    return body


def wait_ready(client: ApiClient, instance: dict[str, Any], timeout: float) -> dict[str, Any]:
    """The instance once it is ready.

    :raises CliError: not ready within ``timeout`` seconds.
    """
    deadline = time.monotonic() + timeout
    while not instance["ready"]:
        if time.monotonic() > deadline:
            raise CliError(f"instance {instance['id']} not ready after {timeout} s "
                           f"(view at {instance['view_revision']}, needs "
                           f"{instance['ready_revision']})")
        time.sleep(WAIT_INTERVAL)
        instance = client.request("GET", f"/v1/instances/{instance['id']}")["instance"]
    return instance


def _spawn(args: argparse.Namespace, client: ApiClient) -> None:
    body = {"instance": _instance_body(args, client)}
    instance = client.request("POST", "/v1/instances", json=body)["instance"]
    if args.wait is not None:
        instance = wait_ready(client, instance, args.wait)
    print_item(instance, args.format)


# --- the command table --------------------------------------------------------------

def _crud(path: str, singular: str, columns: tuple[str, ...],
          body: Callable[[argparse.Namespace], dict[str, Any]]) -> dict[str, Handler]:
    plural = path.rsplit("/", 1)[1]

    def create(args: argparse.Namespace, client: ApiClient) -> None:
        answer = client.request("POST", path, json={singular: body(args)})
        print_item(answer[singular], args.format)

    def update(args: argparse.Namespace, client: ApiClient) -> None:
        changes = body(args)
        if not changes:
            raise CliError("nothing to update: give at least one option")
        answer = client.request("PUT", f"{path}/{args.ref}", json={singular: changes})
        print_item(answer[singular], args.format)

    def listing(args: argparse.Namespace, client: ApiClient) -> None:
        print_list(client.request("GET", path)[plural], columns, args.format)

    def show(args: argparse.Namespace, client: ApiClient) -> None:
        print_item(client.request("GET", f"{path}/{args.ref}")[singular], args.format)

    def delete(args: argparse.Namespace, client: ApiClient) -> None:
        for ref in args.refs:
            client.request("DELETE", f"{path}/{ref}")

    return {"create": create, "update": update, "list": listing, "show": show, "delete": delete}


def _run(handler: Handler) -> Callable[[argparse.Namespace], None]:
    return lambda args: handler(args, client_for(args))


def add_compute_commands(subparsers: Any, parent: argparse.ArgumentParser) -> None:
    """Register ``hypervisor``, ``node`` and ``instance``."""
    resources: list[tuple[str, Callable[[argparse.ArgumentParser, bool], None],
                          dict[str, Handler], dict[str, Handler]]] = [
        ("hypervisor", _hypervisor_args,
         _crud("/v1/hypervisors", "hypervisor", HYPERVISOR_COLUMNS, _hypervisor_body),
         {"heartbeat": _heartbeat}),
        ("node", _node_args, _crud("/v1/nodes", "node", NODE_COLUMNS, _node_body),
         {"provide": _node_action("provide"), "manage": _node_action("manage")}),
        ("instance", _instance_args,
         {**_crud("/v1/instances", "instance", INSTANCE_COLUMNS, lambda _a: {}),
          "create": _spawn},
         {}),
    ]
    for name, add_args, crud, extra in resources:
        group = subparsers.add_parser(name, help=f"manage {name}s")
        actions = group.add_subparsers(dest="action", required=True)
        create = actions.add_parser("create", parents=[parent], help=f"create a {name}")
        create.add_argument("name", nargs="?" if name == "instance" else None)
        add_args(create, True)
        listing = actions.add_parser("list", parents=[parent], help=f"list {name}s")
        show = actions.add_parser("show", parents=[parent], help=f"show a {name}")
        show.add_argument("ref", help="name or id")
        delete = actions.add_parser("delete", parents=[parent], help=f"delete {name}s")
        delete.add_argument("refs", nargs="+", help="names or ids")
        commands = {"create": create, "list": listing, "show": show, "delete": delete}
        if name != "instance":
            update = actions.add_parser("update", parents=[parent], help=f"change a {name}")
            update.add_argument("ref", help="name or id")
            add_args(update, False)
            commands["update"] = update
        for action, handler in extra.items():
            sub = actions.add_parser(action, parents=[parent], help=f"{action} a {name}")
            sub.add_argument("ref", help="name or id")
            if action == "heartbeat":
                sub.add_argument("--view-revision", type=int, default=0)
            commands[action] = sub
            crud[action] = handler
        for action, sub in commands.items():
            sub.set_defaults(handler=_run(crud[action]))
