"""Who serves each node's boot files: its pinned owner, else the hash ring's pick
among live hypervisors serving the node's physical networks.

:func:`plan_owners` is pure. :func:`reconcile_owners` applies the plan in the
caller's unit of work, so every node that moves (and the binding of its ports)
is in one commit: a view following the feed applies the whole takeover in one
batch, and no DHCP answer mixes old and new owners.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from datetime import datetime

from metalnet.core.hypervisors import is_alive
from metalnet.core.model import Heartbeat, Hypervisor, Node, Port
from metalnet.core.records import to_record
from metalnet.core.repo import ListQuery, UnitOfWork
from metalnet.core.resources import revised
from metalnet.core.ring import HashRing

BAREMETAL_OWNER = "baremetal:none"
"""``device_owner`` of the ports the compute side binds to instances."""


def alive_hypervisors(
    hypervisors: Iterable[Hypervisor], beats: Mapping[str, Heartbeat], now: datetime,
    dead_after: float,
) -> list[Hypervisor]:
    """The hypervisors whose last heartbeat is younger than ``dead_after`` seconds."""
    return [h for h in hypervisors if is_alive(beats.get(h.id), now, dead_after)]


def plan_owners(
    nodes: Iterable[Node],
    alive: Iterable[Hypervisor],
    physical_networks_of: Callable[[Node], frozenset[str]],
) -> dict[str, str | None]:
    """node id -> effective owner (a hypervisor name, or ``None``).

    A pinned owner is kept even while dead: the operator chose it, and a dead
    owner is what ``metalnet trace`` should show. Otherwise the candidates are
    the live hypervisors serving one of the node's physical networks (a
    hypervisor listing none serves all; a node with no port yet takes any).
    """
    alive = list(alive)
    rings: dict[frozenset[str], HashRing] = {}
    plan: dict[str, str | None] = {}
    for node in nodes:
        if node.owner is not None:
            plan[node.id] = node.owner
            continue
        physnets = physical_networks_of(node)
        members = frozenset(
            h.name for h in alive
            if not physnets or not h.physical_networks or physnets & set(h.physical_networks)
        )
        ring = rings.get(members)
        if ring is None:
            ring = rings[members] = HashRing(members)
        plan[node.id] = ring.owner_of(node.id)
    return plan


def _ports_by_mac(uow: UnitOfWork, nodes: list[Node]) -> dict[str, list[Port]]:
    macs = [m.mac for n in nodes for m in n.macs]
    found: dict[str, list[Port]] = {}
    for start in range(0, len(macs), 500):
        query = ListQuery(filters={"mac_address": macs[start : start + 500]})
        for port in uow.ports.list(query):
            found.setdefault(port.mac_address, []).append(port)
    return found


def reconcile_owners(uow: UnitOfWork, now: datetime, dead_after: float) -> list[Node]:
    """Write every node's effective owner as of ``now``; the nodes that moved.

    The ports bound to a node's instance follow (``binding:host_id``). The
    caller commits.
    """
    nodes = uow.nodes.list(ListQuery())
    everything = ListQuery()
    alive = alive_hypervisors(
        uow.hypervisors.list(everything), uow.hypervisors.heartbeats(), now, dead_after
    )
    ports = _ports_by_mac(uow, nodes)
    physnet_of = {n.id: n.physical_network for n in uow.networks.list(everything)}

    def physical_networks_of(node: Node) -> frozenset[str]:
        return frozenset(
            physnet for m in node.macs for p in ports.get(m.mac, ())
            if (physnet := physnet_of.get(p.network_id))
        )

    plan = plan_owners(nodes, alive, physical_networks_of)
    moved = []
    for node in nodes:
        owner = plan[node.id]
        if owner != node.effective_owner:
            updated = revised(node, {"effective_owner": owner})
            uow.nodes.update(updated)
            uow.record_change("node", updated.id, to_record(updated))
            moved.append(updated)
        for port in (p for m in node.macs for p in ports.get(m.mac, ())):
            # Also heals a binding a spawn wrote while the node was moving.
            if port.device_owner == BAREMETAL_OWNER and port.binding_host_id != (owner or ""):
                rebound = revised(port, {"binding_host_id": owner or ""})
                uow.ports.update(rebound)
                uow.record_change("port", rebound.id, to_record(rebound))
    return moved
