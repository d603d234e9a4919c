"""Spawn and destroy: a node's state, its instance record and its ports, in order.

Spawn takes the node first (``available -> deploying`` under the node's lock,
with the instance row, whose node is unique): of two spawns of one node, one
wins and the other gets a 409 before touching any port. Ports are attached
outside any transaction (they go through the network API); a failure there is
undone and the node goes back to ``available``, or to ``error`` naming what
could not be undone. Destroy mirrors it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from metalnet.compute.attach import Attacher, Attachment, DetachFailed
from metalnet.core.context import RequestContext
from metalnet.core.model import Instance
from metalnet.core.nodes import locked_node, moved, save
from metalnet.core.profiles import resolve_profile
from metalnet.core.records import to_record
from metalnet.core.repo import UnitOfWork
from metalnet.core.resources import new_id, revised, utc_now
from metalnet.core.states import NodeAction
from metalnet.errors import InvalidInput, NotFound

UnitOfWorkFactory = Callable[[], UnitOfWork]


class InstanceNotFound(NotFound):
    message_format = "Instance {id} could not be found."


def get_instance(uow: UnitOfWork, ctx: RequestContext, instance_id: str) -> Instance:
    """The instance if the caller may see it.

    :raises InstanceNotFound: absent or not visible.
    """
    instance = uow.instances.get(instance_id)
    if instance is None or not ctx.can_see(instance.project_id):
        raise InstanceNotFound(id=instance_id)
    return instance


def _save(uow: UnitOfWork, instance: Instance) -> Instance:
    uow.instances.update(instance)
    uow.record_change("instance", instance.id, to_record(instance))
    return instance


class ComputeService:
    """Spawns and destroys instances over a store and an :class:`Attacher`."""

    def __init__(self, unit_of_work: UnitOfWorkFactory, attacher: Attacher) -> None:
        self.unit_of_work = unit_of_work
        self.attacher = attacher

    def spawn(self, ctx: RequestContext, attrs: Mapping[str, Any]) -> Instance:
        """Give node ``attrs["node"]`` to the caller, attached to ``networks`` and
        ``ports``, booting ``boot_profile`` (default: the node's).

        :raises InvalidInput: neither networks nor ports.
        :raises NodeNotFound: no such node.
        :raises InvalidStateTransition: the node is not available (another spawn won).
        :raises NoPortForNode: see :meth:`Attacher.allocate_for_instance` (and its
            other errors); the node is available again.
        :raises DetachFailed: the spawn failed and could not be undone; the node is
            in ``error``.
        """
        networks, ports = list(attrs.get("networks", ())), list(attrs.get("ports", ()))
        if not networks and not ports:
            raise InvalidInput(reason="an instance needs networks or ports")
        with self.unit_of_work() as uow:
            node = locked_node(uow, attrs["node"])
            profile = attrs.get("boot_profile")
            profile_id = resolve_profile(uow, profile).id if profile else node.boot_profile_id
            now = utc_now()
            instance = Instance(
                id=new_id(), name=attrs.get("name", ""), project_id=ctx.project_id,
                node_id=node.id, boot_profile_id=profile_id, created_at=now, updated_at=now,
            )
            node = save(uow, moved(node, NodeAction.DEPLOY, instance_id=instance.id))
            uow.instances.add_many([instance])
            uow.record_change("instance", instance.id, to_record(instance))
            uow.commit()
        request = Attachment(instance.id, node, node.effective_owner or "", profile_id)
        try:
            attached = self.attacher.allocate_for_instance(request, networks, ports)
        except DetachFailed as exc:
            self._fail(instance, f"spawn failed and was not undone: {exc.message}")
            raise
        except Exception:
            self._release(instance, NodeAction.ABORT)
            raise
        with self.unit_of_work() as uow:
            save(uow, moved(locked_node(uow, node.id), NodeAction.DEPLOYED))
            instance = _save(uow, revised(instance, {"status": "active", "ports": attached}))
            uow.commit()
        return instance

    def _release(self, instance: Instance, action: NodeAction) -> None:
        """Everything was undone: the node moves by ``action`` (back to ``available``)
        without the instance, and the instance is gone."""
        with self.unit_of_work() as uow:
            node = locked_node(uow, instance.node_id)
            save(uow, moved(node, action, instance_id=None))
            uow.instances.delete(instance.id)
            uow.record_change("instance", instance.id, None)
            uow.commit()

    def _fail(self, instance: Instance, reason: str) -> None:
        """Something is left: the node in ``error`` and the instance in ``error`` say what."""
        with self.unit_of_work() as uow:
            node = locked_node(uow, instance.node_id)
            save(uow, moved(node, NodeAction.FAIL, error_reason=reason))
            current = uow.instances.get(instance.id) or instance
            _save(uow, revised(current, {"status": "error", "fault": reason}))
            uow.commit()

    def destroy(self, ctx: RequestContext, instance_id: str) -> None:
        """Release the instance's ports and give the node back (``available``).

        :raises InstanceNotFound: absent or not visible.
        :raises InvalidStateTransition: a destroy or spawn of it is under way.
        :raises DetachFailed: some ports could not be released; node and instance
            are in ``error`` and a new destroy retries.
        """
        with self.unit_of_work() as uow:
            instance = get_instance(uow, ctx, instance_id)
            node = locked_node(uow, instance.node_id)
            save(uow, moved(node, NodeAction.UNDEPLOY))
            instance = _save(uow, revised(instance, {"status": "deleting"}))
            uow.commit()
        try:
            self.attacher.deallocate_for_instance(
                instance.id, instance.ports, instance.boot_profile_id
            )
        except DetachFailed as exc:
            self._fail(instance, f"destroy failed: {exc.message}")
            raise
        self._release(instance, NodeAction.UNDEPLOYED)
