"""The ownership ring, the ownership plan and the node state table (pure)."""

from __future__ import annotations

from collections import Counter

import pytest

from metalnet.core.model import Hypervisor, Node
from metalnet.core.ownership import plan_owners
from metalnet.core.ring import HashRing
from metalnet.core.states import (
    TRANSITIONS,
    InvalidStateTransition,
    NodeAction,
    NodeState,
    next_state,
)

KEYS = [f"node-{i}" for i in range(2000)]


def test_the_ring_is_deterministic_and_spreads_keys() -> None:
    ring = HashRing(["a", "b", "c", "d"])
    owners = Counter(ring.owner_of(k) for k in KEYS)
    assert set(owners) == {"a", "b", "c", "d"}
    assert min(owners.values()) > len(KEYS) / 4 * 0.6  # no member starves
    assert [HashRing(["d", "c", "b", "a"]).owner_of(k) for k in KEYS] == [
        ring.owner_of(k) for k in KEYS]


def test_removing_a_member_moves_only_its_keys() -> None:
    before = HashRing(["a", "b", "c", "d"])
    after = HashRing(["a", "b", "d"])
    for key in KEYS:
        if before.owner_of(key) != "c":
            assert after.owner_of(key) == before.owner_of(key)
        else:
            assert after.owner_of(key) in {"a", "b", "d"}


def test_an_empty_ring_owns_nothing() -> None:
    assert HashRing([]).owner_of("x") is None


def _hv(name: str, *physnets: str) -> Hypervisor:
    return Hypervisor(id=name, name=name, boot_address="198.18.0.1",
                      physical_networks=physnets)


def test_the_plan_keeps_pins_and_honours_physical_networks() -> None:
    nodes = [Node(id="pinned", name="pinned", owner="dead-one"),
             Node(id="ctl-node", name="ctl-node"), Node(id="any-node", name="any-node")]
    alive = [_hv("ctl-host", "ctl"), _hv("storage-host", "storage")]
    physnets = {"ctl-node": frozenset({"ctl"})}
    plan = plan_owners(nodes, alive, lambda n: physnets.get(n.id, frozenset()))
    assert plan["pinned"] == "dead-one"
    assert plan["ctl-node"] == "ctl-host"
    assert plan["any-node"] in {"ctl-host", "storage-host"}
    assert plan_owners(nodes[1:], [], lambda n: frozenset()) == {"ctl-node": None,
                                                                  "any-node": None}


def test_every_state_is_reachable_and_leavable() -> None:
    reached = {target for target in TRANSITIONS.values()}
    left = {state for state, _ in TRANSITIONS}
    assert reached | {NodeState.ENROLLED} == set(NodeState) == left


@pytest.mark.parametrize(("state", "action", "expected"), [
    ("enrolled", NodeAction.PROVIDE, NodeState.AVAILABLE),
    ("available", NodeAction.DEPLOY, NodeState.DEPLOYING),
    ("deploying", NodeAction.ABORT, NodeState.AVAILABLE),
    ("error", NodeAction.UNDEPLOY, NodeState.DELETING),
])
def test_transitions(state: str, action: NodeAction, expected: NodeState) -> None:
    assert next_state("n1", state, action) is expected


@pytest.mark.parametrize(("state", "action"), [
    ("deploying", NodeAction.DEPLOY), ("active", NodeAction.PROVIDE),
    ("enrolled", NodeAction.DEPLOY), ("no-such-state", NodeAction.PROVIDE),
])
def test_an_invalid_transition_is_a_409(state: str, action: NodeAction) -> None:
    with pytest.raises(InvalidStateTransition) as caught:
        next_state("n1", state, action)
    assert caught.value.status == 409
    assert f"n1 cannot {action.value} while {state}" in caught.value.message
