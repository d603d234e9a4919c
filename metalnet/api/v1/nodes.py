"""``/v1/nodes``: bare-metal machines by their MACs, their owner and their state.

A node is addressed by id or name. Writes reconcile ownership in the same unit
of work, so a new node has its effective owner as soon as it is created.
``POST /v1/nodes/{ref}/actions {"action": "provide"}`` moves it through the
operator's part of the state machine; anything else is a 409.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any

from fastapi import APIRouter, Request, Response
from pydantic import BaseModel, ConfigDict, Field, StringConstraints, ValidationError

from metalnet.api.deps import context_of, in_thread, run_unit_of_work
from metalnet.api.neutron.render import timestamp
from metalnet.api.neutron.routes import json_body, shown, validation_message
from metalnet.api.responses import JSONResponse
from metalnet.api.v1.bodies import unwrap
from metalnet.api.v1.hypervisors import write_reconciled
from metalnet.core import nodes
from metalnet.core.model import Node
from metalnet.core.repo import ListQuery, UnitOfWork
from metalnet.errors import BadRequest

Name = Annotated[str, StringConstraints(max_length=255)]
Ref = Annotated[str, StringConstraints(max_length=255)]


class MacBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    mac: Annotated[str, StringConstraints(max_length=32)]
    switch_id: Name | None = None
    port_id: Name | None = None


class NodeCreate(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)
    name: Name
    description: Annotated[str, StringConstraints(max_length=1024)] = ""
    macs: list[MacBody] = Field(default_factory=list, max_length=nodes.MAX_MACS)
    boot_profile_id: Ref | None = Field(None, alias="boot_profile")
    firmware: Annotated[str, StringConstraints(max_length=16)] = "auto"
    owner: Ref | None = None


class NodeUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)
    name: Name | None = None
    description: Annotated[str, StringConstraints(max_length=1024)] | None = None
    macs: list[MacBody] | None = Field(None, max_length=nodes.MAX_MACS)
    boot_profile_id: Ref | None = Field(None, alias="boot_profile")
    firmware: Annotated[str, StringConstraints(max_length=16)] | None = None
    owner: Ref | None = None


class ActionBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    action: Annotated[str, StringConstraints(max_length=32)]


def render_node(node: Node) -> dict[str, Any]:
    """A node as the API shows it."""
    return {
        "id": node.id,
        "name": node.name,
        "description": node.description,
        "macs": [{"mac": m.mac, "switch_id": m.switch_id, "port_id": m.port_id} for m in node.macs],
        "boot_profile": node.boot_profile_id,
        "firmware": node.firmware,
        "owner": node.owner,
        "effective_owner": node.effective_owner,
        "state": node.state,
        "error_reason": node.error_reason,
        "instance_id": node.instance_id,
        "revision_number": node.revision_number,
        "created_at": timestamp(node.created_at),
        "updated_at": timestamp(node.updated_at),
    }


_NULLABLE = frozenset({"boot_profile_id", "owner"})


def nodes_router() -> APIRouter:
    """Routes of ``/v1/nodes``."""
    router = APIRouter(prefix="/v1/nodes", tags=["nodes"])

    def write(request: Request, change: Callable[[UnitOfWork], Any]) -> Any:
        """The node as it is after ownership was reconciled."""
        return write_reconciled(
            request, change, lambda uow, node: render_node(uow.nodes.get(node.id) or node)
        )

    @router.get("", summary="List nodes (filter with ?state=, ?owner=, ?effective_owner=)")
    async def list_nodes(
        request: Request,
        state: str | None = None,
        owner: str | None = None,
        effective_owner: str | None = None,
    ) -> JSONResponse:
        wanted = {"state": state, "owner": owner, "effective_owner": effective_owner}
        query = ListQuery(
            filters={k: [v] for k, v in wanted.items() if v is not None}, sorts=(("name", True),)
        )

        found = await run_unit_of_work(
            request, lambda uow: [render_node(n) for n in uow.nodes.list(query)]
        )
        return JSONResponse({"nodes": found})

    @router.post("", status_code=201, summary="Enroll a node (admin)")
    async def create(request: Request) -> JSONResponse:
        ctx = context_of(request)
        attrs = unwrap(await json_body(request), "node", NodeCreate)
        item = await in_thread(
            write, request, lambda uow: nodes.create_node(uow, ctx, attrs)
        )
        return JSONResponse({"node": item}, status_code=201)

    @router.get("/{ref}", summary="Show a node (by id or name)")
    async def show(request: Request, ref: str) -> Response:
        found = await run_unit_of_work(request, lambda uow: nodes.resolve_node(uow, ref))
        return shown(request, "node", render_node(found))

    @router.put("/{ref}", summary="Update a node (admin; owner null unpins)")
    async def update(request: Request, ref: str) -> JSONResponse:
        ctx = context_of(request)
        changes = unwrap(await json_body(request), "node", NodeUpdate)
        changes = {k: v for k, v in changes.items() if v is not None or k in _NULLABLE}
        item = await in_thread(
            write, request, lambda uow: nodes.update_node(uow, ctx, ref, changes)
        )
        return JSONResponse({"node": item})

    @router.delete("/{ref}", status_code=204, summary="Delete a node (admin)")
    async def delete(request: Request, ref: str) -> Response:
        ctx = context_of(request)
        await in_thread(write, request, lambda uow: nodes.delete_node(uow, ctx, ref))
        return Response(status_code=204)

    @router.post("/{ref}/actions", summary="provide or manage a node (admin)")
    async def act(request: Request, ref: str) -> JSONResponse:
        ctx = context_of(request)
        try:
            action = ActionBody.model_validate(await json_body(request)).action
        except ValidationError as exc:
            raise BadRequest(resource="action", reason=validation_message(exc)) from exc
        item = await in_thread(write, request, lambda uow: nodes.act(uow, ctx, ref, action))
        return JSONResponse({"node": item})

    return router
