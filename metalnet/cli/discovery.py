"""``metalnet rule ...`` (enrollment rules) and ``metalnet discovered ...`` over the API.

    metalnet rule create lab --priority 10 \\
        --condition 'dmi.vendor:eq:Metalnet Lab' --condition 'memory.total_mib:ge:4096' \\
        --name-template 'lab-{dmi.serial}' --boot-profile target --attribute rack=r1
    metalnet discovered list [--state discovered]
    metalnet discovered enroll 52:54:00:4d:4e:01 --boot-profile target --name-template n1
"""

from __future__ import annotations

import argparse
import json
from typing import Any

from metalnet.cli.client import client_for
from metalnet.cli.output import print_item, print_list

RULE_COLUMNS = ("id", "name", "priority", "enabled", "conditions", "actions")
MACHINE_COLUMNS = ("id", "state", "name", "boot_mac", "vendor", "serial", "cpus", "memory_mib",
                   "boot_mode", "last_seen")


def condition(text: str) -> dict[str, Any]:
    """``FIELD:OP:VALUE`` (VALUE as JSON when it parses, else text) -> a condition."""
    field, sep, rest = text.partition(":")
    op, sep2, raw = rest.partition(":")
    if not sep or not field or not op:
        raise argparse.ArgumentTypeError(f"'{text}' is not FIELD:OP:VALUE")
    if not sep2 and op != "exists":
        raise argparse.ArgumentTypeError(f"'{text}' is not FIELD:OP:VALUE")
    try:
        value: Any = json.loads(raw) if raw else None
    except ValueError:
        value = raw
    return {"field": field, "op": op, "value": value}


def attribute(text: str) -> tuple[str, str]:
    key, sep, value = text.partition("=")
    if not sep or not key:
        raise argparse.ArgumentTypeError(f"'{text}' is not KEY=VALUE")
    return key, value


def _action_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--name-template", help="e.g. 'node-{dmi.serial}' (default node-{mac_hex})")
    parser.add_argument("--owner", help="hypervisor that serves the node")
    parser.add_argument("--boot-profile", help="profile the machine boots once enrolled")
    parser.add_argument("--network", dest="networks", action="append", default=None,
                        help="network for the boot MAC's port (repeat; default: where it was seen)")
    parser.add_argument("--attribute", dest="attributes", action="append", type=attribute,
                        default=None, metavar="KEY=VALUE")


def _actions(args: argparse.Namespace) -> dict[str, Any]:
    actions: dict[str, Any] = {}
    for key in ("name_template", "owner", "boot_profile", "networks"):
        if getattr(args, key) is not None:
            actions[key] = getattr(args, key)
    if args.attributes is not None:
        actions["attributes"] = dict(args.attributes)
    return actions


# ---------------------------------------------------------------------- rules

def _rule_create(args: argparse.Namespace) -> None:
    body: dict[str, Any] = {"name": args.name, "priority": args.priority,
                            "enabled": not args.disabled, "conditions": args.conditions or [],
                            "actions": _actions(args)}
    if args.description is not None:
        body["description"] = args.description
    found = client_for(args).request("POST", "/v1/enrollment-rules", json={"enrollment_rule": body})
    print_item(found["enrollment_rule"], args.format)


def _rule_list(args: argparse.Namespace) -> None:
    found = client_for(args).request("GET", "/v1/enrollment-rules")["enrollment_rules"]
    print_list(found, RULE_COLUMNS, args.format)


def _rule_show(args: argparse.Namespace) -> None:
    found = client_for(args).request("GET", f"/v1/enrollment-rules/{args.ref}")
    print_item(found["enrollment_rule"], args.format)


def _rule_delete(args: argparse.Namespace) -> None:
    client_for(args).request("DELETE", f"/v1/enrollment-rules/{args.ref}")


# ---------------------------------------------------------------------- discovered

def _discovered_list(args: argparse.Namespace) -> None:
    params = {"state": args.state} if args.state else {}
    found = client_for(args).request("GET", "/v1/discovered", params=params)["discovered"]
    print_list(found, MACHINE_COLUMNS, args.format)


def _discovered_show(args: argparse.Namespace) -> None:
    found = client_for(args).request("GET", f"/v1/discovered/{args.ref}")["discovered"]
    print_item(found, args.format)


def _discovered_enroll(args: argparse.Namespace) -> None:
    found = client_for(args).request("POST", f"/v1/discovered/{args.ref}/enroll",
                                     json={"actions": _actions(args)})
    print_item(found["discovered"], args.format)


def _discovered_delete(args: argparse.Namespace) -> None:
    client_for(args).request("DELETE", f"/v1/discovered/{args.ref}")


def add_discovery_commands(subparsers: Any, parent: argparse.ArgumentParser) -> None:
    """Register ``rule create|list|show|delete`` and ``discovered list|show|enroll|delete``."""
    rule = subparsers.add_parser("rule", help="enrollment rules for discovered machines")
    actions = rule.add_subparsers(dest="action", required=True)
    create = actions.add_parser("create", parents=[parent], help="create a rule")
    create.add_argument("name")
    create.add_argument("--priority", type=int, default=100, help="lower is tried first")
    create.add_argument("--disabled", action="store_true")
    create.add_argument("--description")
    create.add_argument("--condition", dest="conditions", action="append", type=condition,
                        metavar="FIELD:OP:VALUE",
                        help="e.g. dmi.vendor:eq:Dell, memory.total_mib:ge:4096, "
                             "sighting.relay_circuit_id_text:eq:rack1 (repeat: all must hold)")
    _action_args(create)
    create.set_defaults(handler=_rule_create)
    listing = actions.add_parser("list", parents=[parent], help="list rules in the order tried")
    listing.set_defaults(handler=_rule_list)
    for name, handler, text in (("show", _rule_show, "show a rule"),
                                ("delete", _rule_delete, "delete a rule")):
        sub = actions.add_parser(name, parents=[parent], help=text)
        sub.add_argument("ref", help="id or name")
        sub.set_defaults(handler=handler)

    discovered = subparsers.add_parser("discovered", help="machines that posted an inventory")
    verbs = discovered.add_subparsers(dest="action", required=True)
    listing = verbs.add_parser("list", parents=[parent], help="list discovered machines")
    listing.add_argument("--state", choices=["discovered", "enrolled", "registered"])
    listing.set_defaults(handler=_discovered_list)
    enroll = verbs.add_parser("enroll", parents=[parent], help="enroll a discovered machine")
    enroll.add_argument("ref", help="id or MAC")
    _action_args(enroll)
    enroll.set_defaults(handler=_discovered_enroll)
    for name, handler, text in (("show", _discovered_show, "show one with its inventory"),
                                ("delete", _discovered_delete, "forget one")):
        sub = verbs.add_parser(name, parents=[parent], help=text)
        sub.add_argument("ref", help="id or MAC")
        sub.set_defaults(handler=handler)
