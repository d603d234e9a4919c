"""Inventory in, machine out: look up by every MAC, else apply the rules.

:func:`record` stores what a machine said (one unit of work): a machine already
known by any of its MACs is updated, never duplicated; a machine whose MAC has a
port already is ``registered``; any other is ``discovered``. :func:`enroll_by_rules`
then tries the rules, and :func:`enroll` applies actions (the rule's, or an
operator's): ports for the boot MAC on the chosen networks with the boot profile,
and a node with every MAC, in one unit of work. A failed enrollment leaves the
machine ``discovered`` with the reason in its ``enroll_error`` attribute.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from metalnet.core.context import ADMIN
from metalnet.core.model import Network
from metalnet.core.nodes import MAX_MACS, create_node
from metalnet.core.ports import create_ports
from metalnet.core.profiles import resolve_profile
from metalnet.core.repo import ListQuery, UnitOfWork
from metalnet.core.resources import new_id, utc_now
from metalnet.discovery.model import (
    STATE_DISCOVERED,
    STATE_ENROLLED,
    STATE_REGISTERED,
    DiscoveredMachine,
)
from metalnet.discovery.rules import Actions, facts, first_match, render_name
from metalnet.discovery.schema import Inventory
from metalnet.errors import InvalidInput, MetalnetError, NotFound

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Source:
    """Who posted: the address, and the MAC and network holding it (lease or port)."""

    ip: str
    mac: str
    network_id: str


@dataclass(frozen=True, slots=True)
class Outcome:
    """``status``: enrolled, discovered, updated or registered."""

    status: str
    machine: DiscoveredMachine
    rule: str | None = None
    error: str | None = None

    def as_dict(self) -> dict[str, Any]:
        """What the agent gets back (no internals)."""
        return {"status": self.status, "id": self.machine.id, "name": self.machine.name,
                "state": self.machine.state, "rule": self.rule, "error": self.error}


class NodeSink(Protocol):
    """Creates the node of an enrolled machine; returns its id."""

    def __call__(
        self, uow: UnitOfWork, name: str, macs: Sequence[str], boot_profile_id: str | None,
        owner: str | None, firmware: str,
    ) -> str: ...


def create_core_node(
    uow: UnitOfWork, name: str, macs: Sequence[str], boot_profile_id: str | None,
    owner: str | None, firmware: str,
) -> str:
    """:class:`NodeSink` over :func:`metalnet.core.nodes.create_node`."""
    node = create_node(uow, ADMIN, {
        "name": name, "macs": [{"mac": m} for m in macs[:MAX_MACS]],
        "boot_profile_id": boot_profile_id, "owner": owner, "firmware": firmware,
    })
    return node.id


UnitOfWorkFactory = Callable[[], Any]
"""() -> a context manager yielding a unit of work with ``.connection``."""

RepoFactory = Callable[[Any], Any]
"""unit of work -> a :class:`metalnet.store.discovery.DiscoveryRepo`."""


def _ports_of(uow: UnitOfWork, macs: Sequence[str]) -> list[str]:
    found = uow.ports.list(ListQuery(filters={"mac_address": list(macs)}))
    return [p.id for p in found]


def record(
    uow: Any, repo: Any, inventory: Inventory, source: Source,
    sighting: dict[str, Any] | None, now: datetime | None = None,
) -> Outcome:
    """Store what the machine said (the caller commits)."""
    now = now or utc_now()
    macs = inventory.macs
    boot_mac = inventory.boot_mac or (source.mac if source.mac in macs else macs[0])
    existing = repo.machine_by_macs(macs)
    if existing is not None:
        machine = dataclasses.replace(
            existing, inventory=inventory.as_dict(),
            macs=tuple(dict.fromkeys([*existing.macs, *macs])), last_seen=now,
            reports=existing.reports + 1, source_ip=source.ip,
            sighting=sighting or existing.sighting,
        )
        repo.update_machine(machine)
        return Outcome("updated", machine)
    machine = DiscoveredMachine(
        id=new_id(), state=STATE_DISCOVERED, boot_mac=boot_mac, macs=tuple(macs),
        inventory=inventory.as_dict(), first_seen=now, last_seen=now,
        network_id=source.network_id, source_ip=source.ip, sighting=sighting,
    )
    port_ids = _ports_of(uow, macs)
    if port_ids:
        machine = dataclasses.replace(machine, state=STATE_REGISTERED, port_ids=tuple(port_ids))
    repo.add_machine(machine)
    return Outcome(machine.state, machine)


def _network(uow: UnitOfWork, ref: str) -> Network:
    found = uow.networks.get(ref)
    if found is None:
        named = uow.networks.list(ListQuery(filters={"name": [ref]}))
        if len(named) != 1:
            raise InvalidInput(reason=f"no single network named or with id '{ref}'")
        found = named[0]
    return found


def machine_facts(uow: UnitOfWork, machine: DiscoveredMachine) -> dict[str, Any]:
    """The facts rules and name templates see for ``machine``."""
    network = uow.networks.get(machine.network_id) if machine.network_id else None
    seen_on = {"id": network.id, "name": network.name} if network else None
    return facts(machine.inventory, machine.sighting, seen_on)


def enroll(
    uow: UnitOfWork, repo: Any, machine: DiscoveredMachine, actions: Actions,
    nodes: NodeSink | None, rule_id: str | None = None,
) -> DiscoveredMachine:
    """Apply ``actions`` to a discovered machine (the caller commits).

    :raises InvalidInput: it is not ``discovered``, or an action names nothing.
    :raises NotFound: the boot profile or owner does not exist.
    :raises Conflict: a port or node name/MAC is taken.
    """
    if machine.state != STATE_DISCOVERED:
        raise InvalidInput(reason=f"machine {machine.id} is {machine.state}, not discovered")
    name = render_name(actions.name_template, machine_facts(uow, machine), machine.id)
    profile_id = resolve_profile(uow, actions.boot_profile).id if actions.boot_profile else None
    refs = list(actions.networks) or ([machine.network_id] if machine.network_id else [])
    if not refs:
        raise InvalidInput(reason="no network to put the machine's port on")
    networks = [_network(uow, ref) for ref in refs]
    ports = create_ports(uow, ADMIN, [
        {"network_id": n.id, "mac_address": machine.boot_mac, "name": name,
         "device_owner": "baremetal:node", "device_id": machine.id,
         "boot_profile_id": profile_id}
        for n in networks
    ])
    node_id = None
    if nodes is not None:
        firmware = "uefi" if machine.inventory.get("boot_mode") == "uefi" else "bios"
        node_id = nodes(uow, name, list(machine.macs), profile_id, actions.owner, firmware)
    attributes = {k: v for k, v in machine.attributes.items() if k != "enroll_error"}
    enrolled = dataclasses.replace(
        machine, state=STATE_ENROLLED, name=name, rule_id=rule_id, node_id=node_id,
        port_ids=tuple(p.id for p in ports), owner=actions.owner, boot_profile_id=profile_id,
        attributes={**attributes, **actions.attributes},
    )
    repo.update_machine(enrolled)
    return enrolled


class Ingestor:
    """The whole path for one inventory: record, then the rules (separate commits).

    :param unit_of_work: opens a unit of work (``Store.unit_of_work``).
    :param repo_of: the discovery repository on a unit of work's connection.
    :param nodes: creates nodes for enrolled machines (``None``: ports only).
    """

    def __init__(
        self, unit_of_work: UnitOfWorkFactory, repo_of: RepoFactory, nodes: NodeSink | None
    ) -> None:
        self.unit_of_work = unit_of_work
        self.repo_of = repo_of
        self.nodes = nodes

    def ingest(
        self, inventory: Inventory, source: Source, sighting: dict[str, Any] | None
    ) -> Outcome:
        """Record ``inventory`` and enroll by the rules when it is new (blocking: a thread)."""
        with self.unit_of_work() as uow:
            outcome = record(uow, self.repo_of(uow), inventory, source, sighting)
            uow.commit()
        if outcome.status != "discovered":
            return outcome
        try:
            with self.unit_of_work() as uow:
                repo = self.repo_of(uow)
                machine = repo.machine(outcome.machine.id) or outcome.machine
                rule = first_match(repo.rules(), machine_facts(uow, machine))
                if rule is None:
                    return outcome
                enrolled = enroll(uow, repo, machine, rule.actions, self.nodes, rule.id)
                uow.commit()
                return Outcome("enrolled", enrolled, rule.name)
        except MetalnetError as exc:
            log.warning("discovery: enrolling %s failed: %s", outcome.machine.boot_mac, exc)
            with self.unit_of_work() as uow:
                repo = self.repo_of(uow)
                machine = repo.machine(outcome.machine.id) or outcome.machine
                failed = dataclasses.replace(
                    machine, attributes={**machine.attributes, "enroll_error": str(exc)}
                )
                repo.update_machine(failed)
                uow.commit()
            return Outcome("discovered", failed, error=str(exc))

    def enroll_manually(self, ref: str, actions: Actions) -> DiscoveredMachine:
        """An operator's enrollment of a discovered machine (by id or MAC).

        :raises NotFound: no such machine.
        """
        with self.unit_of_work() as uow:
            repo = self.repo_of(uow)
            machine = repo.machine_by_ref(ref)
            if machine is None:
                raise MachineNotFound(id=ref)
            enrolled = enroll(uow, repo, machine, actions, self.nodes)
            uow.commit()
            return enrolled


class MachineNotFound(NotFound):
    message_format = "Discovered machine {id} could not be found."
