"""``metalnet boot-profile ...``, ``metalnet sightings list`` and ``metalnet boot assets``.

``boot-profile`` and ``sightings`` talk to the API (``/v1/boot-profiles``,
``/v1/sightings``); ``boot assets`` is local: it looks at the bootloaders this
host has and at the boot directory ``metalnet serve`` would use, and exits 1
when a bootloader the default DHCP boot options point at is missing.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from metalnet.boot import assets
from metalnet.cli.client import CliError, client_for
from metalnet.cli.output import print_item, print_list
from metalnet.settings import Settings

PROFILES = "/v1/boot-profiles"
PROFILE_COLUMNS = ("id", "name", "kind", "boots", "description")
SIGHTING_COLUMNS = (
    "mac", "network_id", "count", "client_arch", "vendor_class", "user_class", "last_seen",
)
ASSET_COLUMNS = ("name", "required", "source", "installed")


def _read_script(path: str) -> str:
    """The script in file ``path`` (``-`` reads standard input).

    :raises CliError: the file cannot be read.
    """
    if path == "-":
        return sys.stdin.read()
    try:
        return Path(path).read_text()
    except (OSError, UnicodeDecodeError) as exc:
        raise CliError(f"cannot read script {path}: {exc}") from exc


def _boots(profile: dict[str, Any]) -> str:
    """One line saying what a profile boots, for tables."""
    if profile.get("kind") == "script":
        lines = (profile.get("script") or "").count("\n") + 1
        return f"iPXE script ({lines} lines)"
    if profile.get("kind") == "chain":
        return str(profile.get("chain_url") or "")
    return str(profile.get("kernel") or "")


# --- boot-profile ---------------------------------------------------------------------

def _kind_args(parser: argparse.ArgumentParser, required: bool) -> None:
    kind = parser.add_mutually_exclusive_group(required=required)
    kind.add_argument("--kernel", metavar="PATH|URL",
                      help="kernel: a path inside the boot directory or an http(s) URL")
    kind.add_argument("--script", metavar="FILE",
                      help="a raw iPXE script (starting with #!ipxe) read from FILE ('-': stdin)")
    kind.add_argument("--chain-url", metavar="URL", help="a URL iPXE chains to")
    parser.add_argument("--initrd", action="append", metavar="PATH|URL",
                        help="repeatable, in order; only with a kernel")
    parser.add_argument("--cmdline", metavar="TEXT", help="kernel command line")
    parser.add_argument("--description")


def _profile_body(args: argparse.Namespace, kernel_profile: bool) -> dict[str, Any]:
    """The attributes the options set.

    :param kernel_profile: the profile is (or becomes) a kernel profile, so
        ``--initrd``/``--cmdline`` apply.
    :raises CliError: ``--initrd``/``--cmdline`` for a script or chain profile.
    """
    body: dict[str, Any] = {}
    if args.kernel is not None:
        body["kernel"] = args.kernel
    elif args.script is not None:
        body["script"] = _read_script(args.script)
    elif args.chain_url is not None:
        body["chain_url"] = args.chain_url
    initrds = [] if getattr(args, "no_initrd", False) else args.initrd
    if (initrds or args.cmdline is not None) and not kernel_profile:
        raise CliError("--initrd and --cmdline go with --kernel (a kernel profile)")
    if initrds is not None:
        body["initrds"] = initrds
    if args.cmdline is not None:
        body["cmdline"] = args.cmdline
    if args.description is not None:
        body["description"] = args.description
    return body


def _profile_create(args: argparse.Namespace) -> None:
    body = {"name": args.name, **_profile_body(args, args.kernel is not None)}
    created = client_for(args).request("POST", PROFILES, json={"boot_profile": body})
    print_item(created["boot_profile"], args.format)


def _profile_list(args: argparse.Namespace) -> None:
    found = client_for(args).request("GET", PROFILES)["boot_profiles"]
    print_list([{**p, "boots": _boots(p)} for p in found], PROFILE_COLUMNS, args.format)


def _profile_show(args: argparse.Namespace) -> None:
    found = client_for(args).request("GET", f"{PROFILES}/{args.ref}")
    print_item(found["boot_profile"], args.format)


def _profile_update(args: argparse.Namespace) -> None:
    client = client_for(args)
    kernel_profile = args.kernel is not None
    if not kernel_profile and args.script is None and args.chain_url is None:
        current = client.request("GET", f"{PROFILES}/{args.ref}")["boot_profile"]
        kernel_profile = current["kind"] == "kernel"
    body = _profile_body(args, kernel_profile)
    if args.new_name is not None:
        body["name"] = args.new_name
    if not body:
        raise CliError("nothing to update: give at least one option")
    updated = client.request("PUT", f"{PROFILES}/{args.ref}", json={"boot_profile": body})
    print_item(updated["boot_profile"], args.format)


def _profile_delete(args: argparse.Namespace) -> None:
    client = client_for(args)
    for ref in args.refs:
        client.request("DELETE", f"{PROFILES}/{ref}")


def _add_profile_commands(subparsers: Any, parent: argparse.ArgumentParser) -> None:
    group = subparsers.add_parser(
        "boot-profile", help="manage boot profiles (kernel + initrd, iPXE script or chain URL)"
    )
    actions = group.add_subparsers(dest="action", required=True)

    create = actions.add_parser("create", parents=[parent], help="create a boot profile (admin)")
    create.add_argument("name")
    _kind_args(create, required=True)
    create.set_defaults(handler=_profile_create)

    listing = actions.add_parser("list", parents=[parent], help="list boot profiles")
    listing.set_defaults(handler=_profile_list)

    show = actions.add_parser("show", parents=[parent], help="show a boot profile")
    show.add_argument("ref", help="name or id")
    show.set_defaults(handler=_profile_show)

    update = actions.add_parser(
        "update", parents=[parent],
        help="change a boot profile (admin); a new kind replaces the old one",
    )
    update.add_argument("ref", help="name or id")
    update.add_argument("--name", dest="new_name")
    _kind_args(update, required=False)
    update.add_argument("--no-initrd", action="store_true", help="remove every initrd")
    update.set_defaults(handler=_profile_update)

    delete = actions.add_parser("delete", parents=[parent],
                                help="delete boot profiles no port or network uses (admin)")
    delete.add_argument("refs", nargs="+", help="names or ids")
    delete.set_defaults(handler=_profile_delete)


# --- sightings ------------------------------------------------------------------------

def _sightings_list(args: argparse.Namespace) -> None:
    params = {"mac": args.mac} if args.mac else {}
    found = client_for(args).request("GET", "/v1/sightings", params=params)["sightings"]
    print_list(found, SIGHTING_COLUMNS, args.format)


def _add_sightings_commands(subparsers: Any, parent: argparse.ArgumentParser) -> None:
    group = subparsers.add_parser("sightings", help="unknown MACs the DHCP service heard")
    actions = group.add_subparsers(dest="action", required=True)
    listing = actions.add_parser("list", parents=[parent], help="list sightings, newest first")
    listing.add_argument("--mac", help="only this MAC")
    listing.set_defaults(handler=_sightings_list)


# --- boot assets ----------------------------------------------------------------------

def _assets(args: argparse.Namespace) -> None:
    given = {
        key: value for key, value in (
            ("state_dir", args.state_dir), ("boot_dir", args.boot_dir),
            ("bootloader_dir", args.bootloader_dir),
        ) if value
    }
    settings = Settings(**given)
    boot_dir, extra = settings.boot_directory, settings.bootloader_dir
    try:
        found = assets.install(boot_dir, extra) if args.install else assets.survey(boot_dir, extra)
    except OSError as exc:
        raise CliError(f"cannot install bootloaders into {boot_dir}: {exc}") from exc
    rows = [
        {"name": a.name, "required": a.name in assets.REQUIRED,
         "source": str(a.source) if a.source else "(not found)", "installed": a.installed}
        for a in found
    ]
    print_list(rows, ASSET_COLUMNS, args.format)
    missing = [a.name for a in found if a.name in assets.REQUIRED and not a.installed]
    if missing:
        hint = "" if args.install else " (--install copies them from their source)"
        sourceless = [a.name for a in found if a.name in missing and a.source is None]
        if sourceless:
            hint = " (install Debian's ipxe package or give --bootloader-dir)"
        raise CliError(f"required bootloaders missing from {boot_dir}: "
                       f"{', '.join(missing)}{hint}")


def _add_assets_command(subparsers: Any, parent: argparse.ArgumentParser) -> None:
    group = subparsers.add_parser("boot", help="this host's boot files")
    actions = group.add_subparsers(dest="action", required=True)
    listing = actions.add_parser(
        "assets", parents=[parent],
        help="list bootloaders: where each comes from and whether the boot directory has it "
             "(exit 1 when a required one is missing)",
    )
    listing.add_argument("--state-dir", help="state directory (default /var/lib/metalnet)")
    listing.add_argument("--boot-dir", help="boot directory (default: boot/ under the state dir)")
    listing.add_argument("--bootloader-dir",
                         help="where to take bootloaders from before Debian's standard paths")
    listing.add_argument("--install", action="store_true",
                         help="copy found bootloaders into the boot directory first")
    listing.set_defaults(handler=_assets)


def add_boot_commands(subparsers: Any, parent: argparse.ArgumentParser) -> None:
    """Register ``boot-profile``, ``sightings`` and ``boot assets``."""
    _add_profile_commands(subparsers, parent)
    _add_sightings_commands(subparsers, parent)
    _add_assets_command(subparsers, parent)
