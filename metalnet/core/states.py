"""The node life cycle as a transition table.

::

    enrolled  --provide-->    available   (and back with manage)
    available --deploy-->     deploying   (a spawn took the node)
    deploying --deployed-->   active      (ports attached)
    deploying --abort-->      available   (the spawn failed and was rolled back)
    deploying --fail-->       error       (the spawn failed and could not roll back)
    active    --undeploy-->   deleting    (a destroy started; from error too)
    deleting  --undeployed--> available
    deleting  --fail-->       error
    error     --provide-->    available   (the operator cleared it; no instance left)

Operators ask for :data:`OPERATOR_ACTIONS`; the compute side drives the others
while it spawns and destroys. Anything not in the table is a 409.
"""

from __future__ import annotations

from enum import StrEnum

from metalnet.errors import Conflict


class NodeState(StrEnum):
    """Where a node is in its life cycle."""

    ENROLLED = "enrolled"
    AVAILABLE = "available"
    DEPLOYING = "deploying"
    ACTIVE = "active"
    DELETING = "deleting"
    ERROR = "error"


class NodeAction(StrEnum):
    """What moves a node from one state to another."""

    PROVIDE = "provide"
    MANAGE = "manage"
    DEPLOY = "deploy"
    DEPLOYED = "deployed"
    ABORT = "abort"
    UNDEPLOY = "undeploy"
    UNDEPLOYED = "undeployed"
    FAIL = "fail"


S, A = NodeState, NodeAction

TRANSITIONS: dict[tuple[NodeState, NodeAction], NodeState] = {
    (S.ENROLLED, A.PROVIDE): S.AVAILABLE,
    (S.AVAILABLE, A.MANAGE): S.ENROLLED,
    (S.AVAILABLE, A.DEPLOY): S.DEPLOYING,
    (S.DEPLOYING, A.DEPLOYED): S.ACTIVE,
    (S.DEPLOYING, A.ABORT): S.AVAILABLE,
    (S.DEPLOYING, A.FAIL): S.ERROR,
    (S.ACTIVE, A.UNDEPLOY): S.DELETING,
    (S.ERROR, A.UNDEPLOY): S.DELETING,
    (S.DELETING, A.UNDEPLOYED): S.AVAILABLE,
    (S.DELETING, A.FAIL): S.ERROR,
    (S.ERROR, A.PROVIDE): S.AVAILABLE,
}
"""(state, action) -> next state; the whole life cycle."""

OPERATOR_ACTIONS = frozenset({A.PROVIDE, A.MANAGE})
"""Actions the node API accepts; the rest belong to spawn and destroy."""


class InvalidStateTransition(Conflict):
    message_format = "Node {node} cannot {action} while {state}."


def next_state(node: str, state: str, action: NodeAction) -> NodeState:
    """The state ``action`` leads to from ``state``.

    :param node: the node's name, for the error message.
    :raises InvalidStateTransition: the table has no such transition.
    """
    try:
        return TRANSITIONS[(NodeState(state), action)]
    except (KeyError, ValueError):
        raise InvalidStateTransition(node=node, action=action.value, state=state) from None
