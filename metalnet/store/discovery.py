"""Discovery tables: enrollment rules and discovered machines (with their MACs).

Functions over the connection of a unit of work, so an enrollment (ports, node,
machine record) commits or rolls back as one.
"""

from __future__ import annotations

import contextlib
from collections import defaultdict
from collections.abc import Sequence
from typing import Any

from sqlalchemy import Connection, delete, insert, select, update
from sqlalchemy.exc import IntegrityError

from metalnet.core.mac import canonical_mac
from metalnet.discovery.model import DiscoveredMachine
from metalnet.discovery.rules import EnrollmentRule, conditions_from, parse_actions, rule_as_dict
from metalnet.errors import Conflict
from metalnet.store import tables as t


class RuleNameTaken(Conflict):
    message_format = "An enrollment rule named {name} exists."


def _rule(row: Any) -> EnrollmentRule:
    return EnrollmentRule(
        id=row.id, name=row.name, priority=row.priority, enabled=row.enabled,
        description=row.description, conditions=conditions_from(row.conditions),
        actions=parse_actions(row.actions), created_at=row.created_at,
        updated_at=row.updated_at,
    )


class DiscoveryRepo:
    """Rules and discovered machines on one connection."""

    def __init__(self, connection: Connection) -> None:
        self.connection = connection

    # ------------------------------------------------------------------ rules

    def rules(self) -> list[EnrollmentRule]:
        """Every rule, by priority then name."""
        statement = select(t.enrollment_rules).order_by(
            t.enrollment_rules.c.priority, t.enrollment_rules.c.name
        )
        return [_rule(r) for r in self.connection.execute(statement)]

    def rule(self, ref: str) -> EnrollmentRule | None:
        """A rule by id, else by name."""
        table = t.enrollment_rules
        for column in (table.c.id, table.c.name):
            row = self.connection.execute(select(table).where(column == ref)).first()
            if row is not None:
                return _rule(row)
        return None

    def _rule_row(self, rule: EnrollmentRule) -> dict[str, Any]:
        # The stored conditions and actions are the API's form, which the parsers read back.
        return {**rule_as_dict(rule), "created_at": rule.created_at, "updated_at": rule.updated_at}

    def add_rule(self, rule: EnrollmentRule) -> None:
        """:raises RuleNameTaken: the name is used."""
        if self.rule(rule.name) is not None:
            raise RuleNameTaken(name=rule.name)
        try:
            self.connection.execute(insert(t.enrollment_rules), [self._rule_row(rule)])
        except IntegrityError as exc:
            raise RuleNameTaken(name=rule.name) from exc

    def update_rule(self, rule: EnrollmentRule) -> None:
        """:raises RuleNameTaken: the new name is another rule's."""
        other = self.rule(rule.name)
        if other is not None and other.id != rule.id:
            raise RuleNameTaken(name=rule.name)
        row = self._rule_row(rule)
        del row["created_at"]
        self.connection.execute(
            update(t.enrollment_rules).where(t.enrollment_rules.c.id == rule.id).values(**row)
        )

    def delete_rule(self, rule_id: str) -> None:
        table = t.enrollment_rules
        self.connection.execute(delete(table).where(table.c.id == rule_id))

    # ------------------------------------------------------------------ machines

    def _macs(
        self, state: str | None = None, machine_id: str | None = None
    ) -> dict[str, list[str]]:
        """MACs by machine id, sorted: of one machine, of the machines in ``state``, or all."""
        macs, machines = t.discovered_macs, t.discovered_machines
        statement = select(macs.c.machine_id, macs.c.mac).order_by(macs.c.mac)
        if machine_id is not None:
            statement = statement.where(macs.c.machine_id == machine_id)
        if state is not None:
            statement = statement.join(machines, machines.c.id == macs.c.machine_id).where(
                machines.c.state == state
            )
        found: dict[str, list[str]] = defaultdict(list)
        for owner, mac in self.connection.execute(statement):
            found[owner].append(mac)
        return found

    def _machine(self, row: Any, macs: Sequence[str]) -> DiscoveredMachine:
        return DiscoveredMachine(
            id=row.id, state=row.state, name=row.name, boot_mac=row.boot_mac,
            macs=tuple(macs), network_id=row.network_id, source_ip=row.source_ip,
            inventory=row.inventory, sighting=row.sighting, rule_id=row.rule_id,
            node_id=row.node_id, port_ids=tuple(row.port_ids), owner=row.owner,
            boot_profile_id=row.boot_profile_id, attributes=row.attributes,
            reports=row.reports, first_seen=row.first_seen, last_seen=row.last_seen,
        )

    def machine(self, machine_id: str) -> DiscoveredMachine | None:
        row = self.connection.execute(
            select(t.discovered_machines).where(t.discovered_machines.c.id == machine_id)
        ).first()
        return None if row is None else self._machine(row, self._macs(machine_id=row.id)[row.id])

    def machine_by_macs(self, macs: Sequence[str]) -> DiscoveredMachine | None:
        """The machine holding any of ``macs``."""
        found = self.connection.execute(
            select(t.discovered_macs.c.machine_id).where(t.discovered_macs.c.mac.in_(list(macs)))
        ).scalars().first()
        return None if found is None else self.machine(found)

    def machine_by_ref(self, ref: str) -> DiscoveredMachine | None:
        """The machine with id ``ref``, else the one holding MAC ``ref`` (either notation)."""
        found = self.machine(ref)
        if found is None:
            with contextlib.suppress(ValueError):  # not a MAC either
                found = self.machine_by_macs([canonical_mac(ref)])
        return found

    def machines(self, state: str | None = None) -> list[DiscoveredMachine]:
        """Machines, most recently seen first (one state when given)."""
        statement = select(t.discovered_machines).order_by(
            t.discovered_machines.c.last_seen.desc()
        )
        if state is not None:
            statement = statement.where(t.discovered_machines.c.state == state)
        rows = self.connection.execute(statement).all()
        macs = self._macs(state) if rows else {}
        return [self._machine(r, macs[r.id]) for r in rows]

    def _machine_row(self, machine: DiscoveredMachine) -> dict[str, Any]:
        return {
            "id": machine.id, "state": machine.state, "name": machine.name,
            "boot_mac": machine.boot_mac, "network_id": machine.network_id,
            "source_ip": machine.source_ip, "inventory": machine.inventory,
            "sighting": machine.sighting, "rule_id": machine.rule_id,
            "node_id": machine.node_id, "port_ids": list(machine.port_ids),
            "owner": machine.owner, "boot_profile_id": machine.boot_profile_id,
            "attributes": dict(machine.attributes), "reports": machine.reports,
            "first_seen": machine.first_seen, "last_seen": machine.last_seen,
        }

    def _set_macs(self, machine: DiscoveredMachine) -> None:
        self.connection.execute(
            delete(t.discovered_macs).where(t.discovered_macs.c.machine_id == machine.id)
        )
        self.connection.execute(
            insert(t.discovered_macs),
            [{"mac": mac, "machine_id": machine.id} for mac in machine.macs],
        )

    def add_machine(self, machine: DiscoveredMachine) -> None:
        self.connection.execute(insert(t.discovered_machines), [self._machine_row(machine)])
        self._set_macs(machine)

    def update_machine(self, machine: DiscoveredMachine) -> None:
        row = self._machine_row(machine)
        self.connection.execute(
            update(t.discovered_machines).where(t.discovered_machines.c.id == machine.id)
            .values(**row)
        )
        self._set_macs(machine)

    def delete_machine(self, machine_id: str) -> None:
        self.connection.execute(
            delete(t.discovered_macs).where(t.discovered_macs.c.machine_id == machine_id)
        )
        self.connection.execute(
            delete(t.discovered_machines).where(t.discovered_machines.c.id == machine_id)
        )
