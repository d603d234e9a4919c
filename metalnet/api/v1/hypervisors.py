"""``/v1/hypervisors``: the hosts serving boot files, their option sets and heartbeats.

A hypervisor is addressed by id or name (its ``binding:host_id``). Each
heartbeat (``POST .../heartbeat``) also reconciles node ownership, in the same
unit of work: a hypervisor coming back takes its nodes back in one step.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Request, Response
from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from metalnet.api.deps import context_of, in_thread, run_unit_of_work, store_of
from metalnet.api.neutron.render import render_dhcp_opts, timestamp
from metalnet.api.neutron.routes import json_body, shown
from metalnet.api.neutron.schemas import DhcpOptBody
from metalnet.api.responses import JSONResponse
from metalnet.api.v1.bodies import unwrap
from metalnet.compute.config import ComputeConfig
from metalnet.core import hypervisors
from metalnet.core.hypervisors import is_alive
from metalnet.core.model import Heartbeat, Hypervisor
from metalnet.core.ownership import reconcile_owners
from metalnet.core.repo import ListQuery, UnitOfWork

Name = Annotated[str, StringConstraints(max_length=255)]
Address = Annotated[str, StringConstraints(max_length=64)]
Url = Annotated[str, StringConstraints(max_length=1024)]
Physnet = Annotated[str, StringConstraints(min_length=1, max_length=64)]


class HypervisorCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: Name
    description: Annotated[str, StringConstraints(max_length=1024)] = ""
    boot_address: Address
    http_boot_url: Url = ""
    physical_networks: list[Physnet] = Field(default_factory=list, max_length=64)
    dhcp_opts: list[DhcpOptBody] = Field(default_factory=list, max_length=64)


class HypervisorUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: Name | None = None
    description: Annotated[str, StringConstraints(max_length=1024)] | None = None
    boot_address: Address | None = None
    http_boot_url: Url | None = None
    physical_networks: list[Physnet] | None = Field(None, max_length=64)
    dhcp_opts: list[DhcpOptBody] | None = Field(None, max_length=64)


class HeartbeatBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    view_revision: int = Field(0, ge=0, le=2**63 - 1)


def compute_config(request: Request) -> ComputeConfig:
    """The compute settings the application was created with."""
    config: ComputeConfig = request.app.state.compute
    return config


def write_reconciled(
    request: Request, change: Callable[[UnitOfWork], Any], render: Callable[[UnitOfWork, Any], Any]
) -> Any:
    """Run ``change(uow)``, reconcile node ownership in the same unit of work, commit;
    the changed resource as ``render`` shows it then (``None`` if ``change`` gave none)."""
    config = compute_config(request)
    with store_of(request).unit_of_work() as uow:
        resource = change(uow)
        reconcile_owners(uow, config.clock(), config.dead_after)
        uow.commit()
        return None if resource is None else render(uow, resource)


def render_hypervisor(
    hypervisor: Hypervisor, beat: Heartbeat | None, now: datetime, dead_after: float
) -> dict[str, Any]:
    """A hypervisor as the API shows it, with its liveness at ``now``."""
    return {
        "id": hypervisor.id,
        "name": hypervisor.name,
        "description": hypervisor.description,
        "boot_address": hypervisor.boot_address,
        "http_boot_url": hypervisor.http_boot_url,
        "physical_networks": list(hypervisor.physical_networks),
        "dhcp_opts": render_dhcp_opts(hypervisor.dhcp_opts),
        "last_heartbeat": timestamp(beat.at) if beat else None,
        "view_revision": beat.view_revision if beat else None,
        "alive": is_alive(beat, now, dead_after),
        "revision_number": hypervisor.revision_number,
        "created_at": timestamp(hypervisor.created_at),
        "updated_at": timestamp(hypervisor.updated_at),
    }


def hypervisors_router() -> APIRouter:
    """Routes of ``/v1/hypervisors``."""
    router = APIRouter(prefix="/v1/hypervisors", tags=["hypervisors"])

    def render(request: Request, uow: UnitOfWork, found: list[Hypervisor]) -> list[dict[str, Any]]:
        config = compute_config(request)
        beats, now = uow.hypervisors.heartbeats(), config.clock()
        return [render_hypervisor(h, beats.get(h.id), now, config.dead_after) for h in found]

    def write(request: Request, change: Callable[[UnitOfWork], Any]) -> Any:
        return write_reconciled(request, change, lambda uow, h: render(request, uow, [h])[0])

    @router.get("", summary="List hypervisors, with liveness")
    async def list_hypervisors(request: Request) -> JSONResponse:
        def work(uow: UnitOfWork) -> list[dict[str, Any]]:
            return render(request, uow, uow.hypervisors.list(ListQuery(sorts=(("name", True),))))

        return JSONResponse({"hypervisors": await run_unit_of_work(request, work)})

    @router.post("", status_code=201, summary="Register a hypervisor (admin)")
    async def create(request: Request) -> JSONResponse:
        ctx = context_of(request)
        attrs = unwrap(await json_body(request), "hypervisor", HypervisorCreate)
        item = await in_thread(
            write, request, lambda uow: hypervisors.create_hypervisor(uow, ctx, attrs)
        )
        return JSONResponse({"hypervisor": item}, status_code=201)

    @router.get("/{ref}", summary="Show a hypervisor (by id or name)")
    async def show(request: Request, ref: str) -> Response:
        def work(uow: UnitOfWork) -> dict[str, Any]:
            return render(request, uow, [hypervisors.resolve_hypervisor(uow, ref)])[0]

        return shown(request, "hypervisor", await run_unit_of_work(request, work))

    @router.put("/{ref}", summary="Update a hypervisor (admin)")
    async def update(request: Request, ref: str) -> JSONResponse:
        ctx = context_of(request)
        changes = unwrap(await json_body(request), "hypervisor", HypervisorUpdate)
        item = await in_thread(
            write, request, lambda uow: hypervisors.update_hypervisor(uow, ctx, ref, changes)
        )
        return JSONResponse({"hypervisor": item})

    @router.delete("/{ref}", status_code=204, summary="Delete a hypervisor (admin)")
    async def delete(request: Request, ref: str) -> Response:
        ctx = context_of(request)
        await in_thread(
            write, request, lambda uow: hypervisors.delete_hypervisor(uow, ctx, ref)
        )
        return Response(status_code=204)

    @router.post("/{ref}/heartbeat", summary="A hypervisor is alive (and its view's revision)")
    async def heartbeat(request: Request, ref: str) -> JSONResponse:
        ctx = context_of(request)
        raw = await request.body()
        attrs = unwrap(await json_body(request), "heartbeat", HeartbeatBody) if raw else {}
        revision = attrs.get("view_revision", 0)
        now = compute_config(request).clock()
        item = await in_thread(
            write,
            request,
            lambda uow: hypervisors.record_heartbeat(uow, ctx, ref, now, revision),
        )
        return JSONResponse({"hypervisor": item})

    return router
