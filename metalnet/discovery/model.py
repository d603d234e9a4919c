"""A discovered machine: what it said, how it was seen, and what became of it."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

STATE_DISCOVERED = "discovered"
"""No rule matched: waiting for ``metalnet discovered enroll``."""

STATE_ENROLLED = "enrolled"
"""A rule (or an operator) enrolled it: it has its ports (and node)."""

STATE_REGISTERED = "registered"
"""Its MAC already had a port when it reported (a registered machine re-inspected)."""


@dataclass(frozen=True, slots=True)
class DiscoveredMachine:
    """One machine, found by any of its MACs; never stored twice."""

    id: str
    state: str
    boot_mac: str
    macs: tuple[str, ...]
    inventory: dict[str, Any]
    first_seen: datetime
    last_seen: datetime
    name: str | None = None
    network_id: str | None = None
    source_ip: str | None = None
    sighting: dict[str, Any] | None = None
    rule_id: str | None = None
    node_id: str | None = None
    port_ids: tuple[str, ...] = ()
    owner: str | None = None
    boot_profile_id: str | None = None
    attributes: dict[str, Any] = field(default_factory=dict)
    reports: int = 1

    def as_dict(self) -> dict[str, Any]:
        """The API form."""
        inv = self.inventory
        return {
            "id": self.id, "state": self.state, "name": self.name, "boot_mac": self.boot_mac,
            "macs": list(self.macs), "network_id": self.network_id, "source_ip": self.source_ip,
            "rule_id": self.rule_id, "node_id": self.node_id, "port_ids": list(self.port_ids),
            "owner": self.owner, "boot_profile_id": self.boot_profile_id,
            "attributes": dict(self.attributes), "reports": self.reports,
            "first_seen": self.first_seen.isoformat(), "last_seen": self.last_seen.isoformat(),
            "boot_mode": inv.get("boot_mode"),
            "vendor": (inv.get("dmi") or {}).get("vendor"),
            "product": (inv.get("dmi") or {}).get("product"),
            "serial": (inv.get("dmi") or {}).get("serial"),
            "cpus": (inv.get("cpu") or {}).get("count"),
            "memory_mib": (inv.get("memory") or {}).get("total_mib"),
            "sighting": self.sighting, "inventory": inv,
        }
