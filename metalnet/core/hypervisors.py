"""Hypervisor rules: admins register them; a name is permanent (ports carry it in
``binding:host_id``); a hypervisor is alive while it heartbeats."""

from __future__ import annotations

import dataclasses
import ipaddress
import re
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

from metalnet.core.context import RequestContext
from metalnet.core.dhcp_opts import check_extra_dhcp_opts
from metalnet.core.model import Heartbeat, Hypervisor
from metalnet.core.records import to_record
from metalnet.core.repo import ListQuery, UnitOfWork
from metalnet.core.resources import admin_only, check_revision, new_id, revised, utc_now
from metalnet.errors import Conflict, InvalidInput, NotFound

NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,254}$")
_URL = re.compile(r"^https?://[^\s/]+(/[^\s]*)?$")


class HypervisorNotFound(NotFound):
    message_format = "Hypervisor {id} could not be found."


class HypervisorInUse(Conflict):
    message_format = "Hypervisor {name} is the pinned owner of node(s) {nodes}."


def resolve_hypervisor(uow: UnitOfWork, ref: str) -> Hypervisor:
    """A hypervisor by id, else by name.

    :raises HypervisorNotFound: neither matches.
    """
    found = uow.hypervisors.get(ref) or uow.hypervisors.by_name(ref)
    if found is None:
        raise HypervisorNotFound(id=ref)
    return found


def is_alive(beat: Heartbeat | None, now: datetime, dead_after: float) -> bool:
    """Whether a hypervisor whose last heartbeat is ``beat`` counts as alive at ``now``."""
    return beat is not None and now - beat.at < timedelta(seconds=dead_after)


def _validated(hypervisor: Hypervisor) -> Hypervisor:
    if not NAME.match(hypervisor.name):
        raise InvalidInput(reason=f"hypervisor name '{hypervisor.name}': letters, digits, "
                                  "'.', '_' or '-' (at most 255)")
    try:
        boot_address = str(ipaddress.IPv4Address(hypervisor.boot_address))
    except ValueError as exc:
        raise InvalidInput(reason=f"boot_address '{hypervisor.boot_address}' is not an IPv4 "
                                  "address") from exc
    url = hypervisor.http_boot_url.rstrip("/")
    if url and not _URL.match(url):
        raise InvalidInput(reason=f"http_boot_url '{url}' is not an http(s) URL")
    if any(not p or "," in p for p in hypervisor.physical_networks):
        raise InvalidInput(reason="physical_networks are non-empty names without commas")
    return dataclasses.replace(
        hypervisor, boot_address=boot_address, http_boot_url=url,
        physical_networks=tuple(dict.fromkeys(hypervisor.physical_networks)),
    )


def _fields(attrs: Mapping[str, Any]) -> dict[str, Any]:
    values = dict(attrs)
    if "physical_networks" in values:
        values["physical_networks"] = tuple(values["physical_networks"])
    if "dhcp_opts" in values:
        values["dhcp_opts"] = check_extra_dhcp_opts(values["dhcp_opts"] or ())
    return values


def create_hypervisor(
    uow: UnitOfWork, ctx: RequestContext, attrs: Mapping[str, Any]
) -> Hypervisor:
    """Register a hypervisor (dead until its first heartbeat).

    :raises PolicyNotAuthorized: the caller is not an admin.
    :raises InvalidInput: a bad name, address, URL or DHCP option.
    :raises Conflict: the name is taken.
    """
    admin_only(ctx, "create_hypervisor")
    now = utc_now()
    hypervisor = _validated(
        Hypervisor(id=new_id(), created_at=now, updated_at=now, **_fields(attrs))
    )
    uow.hypervisors.add_many([hypervisor])
    uow.record_change("hypervisor", hypervisor.id, to_record(hypervisor))
    return hypervisor


def update_hypervisor(
    uow: UnitOfWork, ctx: RequestContext, ref: str, changes: Mapping[str, Any],
    expected_revision: int | None = None,
) -> Hypervisor:
    """Change a hypervisor's boot address, URL, networks or options (not its name).

    :raises HypervisorNotFound: no such hypervisor.
    :raises InvalidInput: a rename, or a bad value.
    """
    admin_only(ctx, "update_hypervisor")
    hypervisor = resolve_hypervisor(uow, ref)
    check_revision(hypervisor, expected_revision)
    if changes.get("name", hypervisor.name) != hypervisor.name:
        raise InvalidInput(reason="a hypervisor's name is its binding:host_id and cannot change")
    updated = _validated(revised(hypervisor, _fields(changes)))
    uow.hypervisors.update(updated)
    uow.record_change("hypervisor", updated.id, to_record(updated))
    return updated


def delete_hypervisor(uow: UnitOfWork, ctx: RequestContext, ref: str) -> None:
    """Forget a hypervisor; the nodes it owned move at the next reconciliation.

    :raises HypervisorInUse: nodes are pinned to it.
    """
    admin_only(ctx, "delete_hypervisor")
    hypervisor = resolve_hypervisor(uow, ref)
    pinned = uow.nodes.list(ListQuery(filters={"owner": [hypervisor.name]}, limit=5))
    if pinned:
        raise HypervisorInUse(name=hypervisor.name, nodes=", ".join(n.name for n in pinned))
    uow.hypervisors.delete(hypervisor.id)
    uow.record_change("hypervisor", hypervisor.id, None)


def record_heartbeat(
    uow: UnitOfWork, ctx: RequestContext, ref: str, now: datetime, view_revision: int
) -> Hypervisor:
    """A hypervisor is alive at ``now``; its view has applied ``view_revision``.

    :raises HypervisorNotFound: no such hypervisor.
    """
    admin_only(ctx, "heartbeat_hypervisor")
    hypervisor = resolve_hypervisor(uow, ref)
    uow.hypervisors.beat(Heartbeat(hypervisor.id, now, view_revision))
    return hypervisor
