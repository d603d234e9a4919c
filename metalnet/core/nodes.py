"""Node rules: MACs (unique across nodes), firmware, a pinned owner, and the
operator's state actions. Nodes store only MACs: their ports are found by MAC."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from metalnet.core.context import RequestContext
from metalnet.core.hypervisors import resolve_hypervisor
from metalnet.core.model import Node, NodeMac
from metalnet.core.ports import normalize_mac
from metalnet.core.profiles import profile_ref_to_id
from metalnet.core.records import to_record
from metalnet.core.repo import UnitOfWork
from metalnet.core.resources import admin_only, check_revision, new_id, revised, utc_now
from metalnet.core.states import OPERATOR_ACTIONS, NodeAction, NodeState, next_state
from metalnet.errors import Conflict, InvalidInput, NotFound

FIRMWARES = frozenset({"bios", "uefi", "auto"})
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,254}$")
MAX_MACS = 16


class NodeNotFound(NotFound):
    message_format = "Node {id} could not be found."


class NodeInUse(Conflict):
    message_format = "Node {name} has instance {instance}."


def resolve_node(uow: UnitOfWork, ref: str) -> Node:
    """A node by id, else by name.

    :raises NodeNotFound: neither matches.
    """
    found = uow.nodes.get(ref) or uow.nodes.by_name(ref)
    if found is None:
        raise NodeNotFound(id=ref)
    return found


def locked_node(uow: UnitOfWork, ref: str) -> Node:
    """A node by id or name, read again after locking it for this unit of work.

    :raises NodeNotFound: neither matches.
    """
    node = resolve_node(uow, ref)
    uow.nodes.lock(node.id)
    return uow.nodes.get(node.id) or node


def _macs(entries: Any) -> tuple[NodeMac, ...]:
    macs = tuple(
        NodeMac(normalize_mac(e["mac"]), e.get("switch_id"), e.get("port_id")) for e in entries
    )
    if len({m.mac for m in macs}) != len(macs):
        raise InvalidInput(reason="a MAC is listed twice")
    if len(macs) > MAX_MACS:
        raise InvalidInput(reason=f"a node has at most {MAX_MACS} MACs")
    return macs


def _fields(uow: UnitOfWork, attrs: Mapping[str, Any]) -> dict[str, Any]:
    values = dict(attrs)
    if "macs" in values:
        values["macs"] = _macs(values["macs"])
    profile_ref_to_id(uow, values, "boot_profile_id")
    if values.get("owner") is not None:
        values["owner"] = resolve_hypervisor(uow, values["owner"]).name
    return values


def _validated(node: Node) -> Node:
    if not _NAME.match(node.name):
        raise InvalidInput(reason=f"node name '{node.name}': letters, digits, '.', '_' or '-'")
    if node.firmware not in FIRMWARES:
        raise InvalidInput(reason=f"firmware '{node.firmware}' is not one of bios, uefi, auto")
    return node


def create_node(uow: UnitOfWork, ctx: RequestContext, attrs: Mapping[str, Any]) -> Node:
    """Enroll a node (state ``enrolled``; its owner is set by the next reconciliation).

    :raises PolicyNotAuthorized: the caller is not an admin.
    :raises InvalidInput: a bad name, MAC or firmware.
    :raises HypervisorNotFound: the pinned owner does not exist.
    :raises BootProfileNotFound: the boot profile does not exist.
    :raises Conflict: the name or a MAC is taken.
    """
    admin_only(ctx, "create_node")
    now = utc_now()
    node = _validated(Node(id=new_id(), created_at=now, updated_at=now, **_fields(uow, attrs)))
    uow.nodes.add_many([node])
    uow.record_change("node", node.id, to_record(node))
    return node


def update_node(
    uow: UnitOfWork, ctx: RequestContext, ref: str, changes: Mapping[str, Any],
    expected_revision: int | None = None,
) -> Node:
    """Change a node's name, MACs, boot profile, firmware or pinned owner (``None`` unpins).

    :raises NodeNotFound: no such node.
    :raises NodeInUse: MACs change while an instance is on the node.
    """
    admin_only(ctx, "update_node")
    node = locked_node(uow, ref)
    check_revision(node, expected_revision)
    values = _fields(uow, changes)
    if "macs" in values and node.instance_id and values["macs"] != node.macs:
        raise NodeInUse(name=node.name, instance=node.instance_id)
    return save(uow, _validated(revised(node, values)))


def delete_node(uow: UnitOfWork, ctx: RequestContext, ref: str) -> None:
    """Forget a node.

    :raises NodeInUse: an instance is on it.
    :raises InvalidStateTransition: it is deploying, active or deleting.
    """
    admin_only(ctx, "delete_node")
    node = locked_node(uow, ref)
    if node.instance_id:
        raise NodeInUse(name=node.name, instance=node.instance_id)
    if node.state not in (NodeState.ENROLLED, NodeState.AVAILABLE, NodeState.ERROR):
        raise Conflict(reason=f"Node {node.name} cannot be deleted while {node.state}.")
    uow.nodes.delete(node.id)
    uow.record_change("node", node.id, None)


def moved(node: Node, action: NodeAction, **changes: Any) -> Node:
    """``node`` after ``action`` (revised; ``error_reason`` kept only in ``error``).

    :raises InvalidStateTransition: the action is not allowed in the node's state.
    """
    state = next_state(node.name, node.state, action)
    reason = changes.pop("error_reason", "") if state is NodeState.ERROR else ""
    return revised(node, {**changes, "state": state.value, "error_reason": reason})


def save(uow: UnitOfWork, node: Node) -> Node:
    """Store a changed node and publish it."""
    uow.nodes.update(node)
    uow.record_change("node", node.id, to_record(node))
    return node


def act(uow: UnitOfWork, ctx: RequestContext, ref: str, action: str) -> Node:
    """An operator's state action (``provide``, ``manage``).

    :raises InvalidInput: not an operator action.
    :raises InvalidStateTransition: not allowed in the node's state.
    :raises NodeInUse: ``provide`` out of ``error`` while an instance is still on it.
    """
    admin_only(ctx, "act_on_node")
    if action not in OPERATOR_ACTIONS:
        choices = ", ".join(sorted(OPERATOR_ACTIONS))
        raise InvalidInput(reason=f"action '{action}' is not one of {choices}")
    wanted = NodeAction(action)
    node = locked_node(uow, ref)
    if node.instance_id:
        raise NodeInUse(name=node.name, instance=node.instance_id)
    return save(uow, moved(node, wanted))
