"""``/v1/instances``: spawn (``POST``) and destroy (``DELETE``) bare-metal instances.

An instance shows ``ready: true`` once the DHCP view serving it has applied
the newest change of every resource it touched (the instance, its node, its
ports): its DHCP answer then carries its owner's options and its boot files are
rendered. The view's revision is this process's own view when it runs DHCP
(``metalnet serve``: ``app.state.view``), else the one the owning hypervisor
reported with its last heartbeat.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated, Any

from fastapi import APIRouter, Request, Response
from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from metalnet.api.deps import context_of, in_thread, run_unit_of_work, store_of
from metalnet.api.neutron.render import timestamp
from metalnet.api.neutron.routes import json_body
from metalnet.api.responses import JSONResponse
from metalnet.api.v1.bodies import unwrap
from metalnet.compute.instances import ComputeService, get_instance
from metalnet.core.model import Instance
from metalnet.core.repo import ListQuery, UnitOfWork
from metalnet.core.view import BootView
from metalnet.store.listing import in_batches

Ref = Annotated[str, StringConstraints(min_length=1, max_length=255)]


class InstanceCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: Annotated[str, StringConstraints(max_length=255)] = ""
    node: Ref
    networks: list[Ref] = Field(default_factory=list, max_length=16)
    ports: list[Ref] = Field(default_factory=list, max_length=16)
    boot_profile: Ref | None = None


def compute_of(request: Request) -> ComputeService:
    """The compute service the application was created with."""
    service: ComputeService = request.app.state.compute_service
    return service


class _Readiness:
    """What tells whether instances are ready, read once for all of them.

    The newest change of every resource they touch is one query per batch of ids;
    without a view of this process's own, so are the nodes, and the hypervisors and
    their heartbeats are one each (there are few).
    """

    def __init__(self, request: Request, uow: UnitOfWork, instances: Sequence[Instance]) -> None:
        self._latest = store_of(request).feed.latest_by_resource(
            [rid for instance in instances for rid in _touched(instance)]
        )
        view: BootView | None = request.app.state.view
        self._view_revision = view.revision if view is not None else None
        self._owner_of_node: dict[str, str | None] = {}
        self._revision_of_owner: dict[str, int] = {}
        if view is not None:
            return
        node_ids = sorted({i.node_id for i in instances})
        self._owner_of_node = {
            node.id: node.effective_owner
            for batch in in_batches(node_ids)
            for node in uow.nodes.list(ListQuery(filters={"id": batch}))
        }
        beats = uow.hypervisors.heartbeats()
        self._revision_of_owner = {
            h.name: beats[h.id].view_revision
            for h in uow.hypervisors.list(ListQuery())
            if h.id in beats
        }

    def needed(self, instance: Instance) -> int:
        """The revision the view must reach for ``instance`` to be ready."""
        return max((self._latest.get(rid, 0) for rid in _touched(instance)), default=0)

    def applied(self, instance: Instance) -> int:
        """The revision the view serving ``instance`` has applied."""
        if self._view_revision is not None:
            return self._view_revision
        owner = self._owner_of_node.get(instance.node_id)
        return self._revision_of_owner.get(owner, 0) if owner else 0


def _touched(instance: Instance) -> list[str]:
    return [instance.id, instance.node_id, *(p.port_id for p in instance.ports)]


def render_instances(
    request: Request, uow: UnitOfWork, instances: Sequence[Instance]
) -> list[dict[str, Any]]:
    """Instances as the API shows them, with their readiness."""
    readiness = _Readiness(request, uow, instances)
    return [_render(instance, readiness) for instance in instances]


def _render(instance: Instance, readiness: _Readiness) -> dict[str, Any]:
    needed, applied = readiness.needed(instance), readiness.applied(instance)
    return {
        "id": instance.id, "name": instance.name, "project_id": instance.project_id,
        "node_id": instance.node_id, "boot_profile": instance.boot_profile_id,
        "status": instance.status, "fault": instance.fault,
        "ports": [{"port_id": p.port_id, "network_id": p.network_id, "mac": p.mac,
                   "created": p.created, "physical_network": p.physical_network,
                   "switch_id": p.switch_id, "switch_port": p.switch_port, "vlan": p.vlan}
                  for p in instance.ports],
        "ready": instance.status == "active" and applied >= needed,
        "ready_revision": needed, "view_revision": applied,
        "revision_number": instance.revision_number,
        "created_at": timestamp(instance.created_at), "updated_at": timestamp(instance.updated_at),
    }


def instances_router() -> APIRouter:
    """Routes of ``/v1/instances``."""
    router = APIRouter(prefix="/v1/instances", tags=["instances"])

    async def rendered(request: Request, instance_id: str) -> dict[str, Any]:
        ctx = context_of(request)

        def work(uow: UnitOfWork) -> dict[str, Any]:
            return render_instances(request, uow, [get_instance(uow, ctx, instance_id)])[0]

        return await run_unit_of_work(request, work)

    @router.get("", summary="List instances (the caller's; every one for admins)")
    async def list_instances(request: Request) -> JSONResponse:
        ctx = context_of(request)
        filters = {} if ctx.is_admin else {"project_id": [ctx.project_id]}
        query = ListQuery(filters=filters, sorts=(("created_at", True),))

        def work(uow: UnitOfWork) -> list[dict[str, Any]]:
            return render_instances(request, uow, uow.instances.list(query))

        return JSONResponse({"instances": await run_unit_of_work(request, work)})

    @router.post("", status_code=201, summary="Spawn: attach a node to networks or ports")
    async def spawn(request: Request) -> JSONResponse:
        ctx = context_of(request)
        attrs = unwrap(await json_body(request), "instance", InstanceCreate)
        instance = await in_thread(compute_of(request).spawn, ctx, attrs)
        item = await rendered(request, instance.id)
        return JSONResponse({"instance": item}, status_code=201)

    @router.get("/{instance_id}", summary="Show an instance and whether it is ready to boot")
    async def show(request: Request, instance_id: str) -> JSONResponse:
        return JSONResponse({"instance": await rendered(request, instance_id)})

    @router.delete("/{instance_id}", status_code=204,
                   summary="Destroy: release the ports, give the node back")
    async def destroy(request: Request, instance_id: str) -> Response:
        ctx = context_of(request)
        await in_thread(compute_of(request).destroy, ctx, instance_id)
        return Response(status_code=204)

    return router
