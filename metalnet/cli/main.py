"""``metalnet`` command line: the sub-command table and the entry point."""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Sequence

from pydantic import ValidationError

from metalnet.cli.boot import add_boot_commands
from metalnet.cli.client import CliError
from metalnet.cli.compute import add_compute_commands
from metalnet.cli.discovery import add_discovery_commands
from metalnet.cli.lab import add_lab_commands
from metalnet.cli.resources import add_resource_commands
from metalnet.cli.tokens import add_token_commands
from metalnet.errors import MetalnetError
from metalnet.settings import Settings


def _serve_parser(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser("serve", help="run API, DHCP and boot services on this host")
    parser.add_argument("--listen", help="API address HOST:PORT (default 127.0.0.1:9696)")
    parser.add_argument("--state-dir", help="where state lives (default /var/lib/metalnet)")
    parser.add_argument("--db", help="database URL (default: SQLite in the state dir)")
    parser.add_argument("--interface", dest="interfaces", action="append",
                        metavar="PHYSNET:IFACE", help="serve a physical network on an interface")
    parser.add_argument("--noauth", action="store_true", default=None,
                        help="no authentication: every caller is admin")
    parser.add_argument("--dhcp-lease-time", type=int, metavar="SECONDS",
                        help="lease time of DHCP answers (default 86400; T1, T2 derived)")
    parser.add_argument("--boot-dir", help="served read-only over TFTP and HTTP "
                        "(default: boot/ under the state dir)")
    parser.add_argument("--bootloader-dir", help="where to take bootloaders from "
                        "(default: Debian's ipxe/pxelinux paths)")
    parser.add_argument("--http-port", type=int, help="HTTP boot port (default 8080)")
    parser.add_argument("--tftp-port", type=int, help="TFTP port (default 69)")
    parser.add_argument("--tftp-workers", type=int, metavar="N",
                        help="TFTP transfer worker processes (default: one per CPU; "
                        "0: transfers share the DHCP event loop)")
    parser.add_argument("--hypervisor-dead-after", type=float, metavar="SECONDS",
                        help="a hypervisor silent this long is dead; its nodes move (default 30)")
    parser.add_argument("--switch-driver", dest="switch_drivers", action="append",
                        metavar="PHYSNET:KIND[:ARG]",
                        help="virtualise a physical network (KIND: linux-bridge, ARG: netns)")
    parser.set_defaults(handler=None)


def build_parser() -> argparse.ArgumentParser:
    """The whole command tree."""
    client = argparse.ArgumentParser(add_help=False)
    client.add_argument("--url", default=os.environ.get("METALNET_URL", "http://127.0.0.1:9696"),
                        help="API URL (env METALNET_URL)")
    client.add_argument("--token", default=os.environ.get("METALNET_TOKEN"),
                        help="API token (env METALNET_TOKEN)")
    client.add_argument("-f", "--format", choices=["table", "json"], default="table")

    parser = argparse.ArgumentParser(prog="metalnet", description=__doc__)
    parser.add_argument("-v", "--verbose", action="store_true")
    subparsers = parser.add_subparsers(dest="command", required=True)
    _serve_parser(subparsers)
    add_token_commands(subparsers, client)
    add_resource_commands(subparsers, client)
    add_compute_commands(subparsers, client)
    add_boot_commands(subparsers, client)
    add_discovery_commands(subparsers, client)
    add_lab_commands(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command; the exit status (0 success, 1 failure, 2 usage)."""
    args = build_parser().parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    logging.getLogger("httpx").setLevel(logging.WARNING)
    try:
        if args.command == "serve":
            given = {k: v for k, v in vars(args).items()
                     if k in Settings.model_fields and v is not None}
            from metalnet.cli.serve import run_serve  # the server stack only when serving

            run_serve(Settings(**given))
            return 0
        args.handler(args)
    except (CliError, MetalnetError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except ValidationError as exc:
        print(f"error: bad settings: {exc}", file=sys.stderr)
        return 2
    return 0
