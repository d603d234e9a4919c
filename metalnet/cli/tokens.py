"""``metalnet token create|list|delete``: run on the API host, against its database."""

from __future__ import annotations

import argparse
from typing import Any

from metalnet.cli.client import CliError
from metalnet.cli.output import print_item, print_list
from metalnet.settings import Settings
from metalnet.store.store import Store


def _store(args: argparse.Namespace) -> Store:
    settings = Settings(**{k: v for k, v in (("state_dir", args.state_dir), ("db", args.db)) if v})
    settings.state_dir.mkdir(parents=True, exist_ok=True)
    return Store(settings.database_url)


def _create(args: argparse.Namespace) -> None:
    info, secret = _store(args).tokens.create(args.project, args.admin, args.description)
    print_item(
        {"id": info.id, "project_id": info.project_id, "is_admin": info.is_admin, "token": secret},
        args.format,
    )


def _list(args: argparse.Namespace) -> None:
    rows = [
        {"id": t.id, "project_id": t.project_id, "is_admin": t.is_admin,
         "description": t.description, "created_at": t.created_at.isoformat()}
        for t in _store(args).tokens.list()
    ]
    print_list(rows, ("id", "project_id", "is_admin", "description", "created_at"), args.format)


def _delete(args: argparse.Namespace) -> None:
    if not _store(args).tokens.revoke(args.id):
        raise CliError(f"no token with id {args.id}")


def add_token_commands(subparsers: Any, parent: argparse.ArgumentParser) -> None:
    """Register ``token create|list|delete``."""
    group = subparsers.add_parser("token", help="manage API tokens (on the API host)")
    actions = group.add_subparsers(dest="action", required=True)
    local = argparse.ArgumentParser(add_help=False)
    local.add_argument("--state-dir")
    local.add_argument("--db")

    create = actions.add_parser("create", parents=[parent, local], help="create a token")
    create.add_argument("--project", required=True)
    create.add_argument("--admin", action="store_true")
    create.add_argument("--description", default="")
    create.set_defaults(handler=_create)

    listing = actions.add_parser("list", parents=[parent, local], help="list tokens")
    listing.set_defaults(handler=_list)

    delete = actions.add_parser("delete", parents=[parent, local], help="revoke a token")
    delete.add_argument("id")
    delete.set_defaults(handler=_delete)
