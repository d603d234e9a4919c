"""``/v1/boot-profiles``: what machines boot (kernel + initrd + cmdline, an iPXE script,
or a chain URL). Admins write; everyone reads. A profile is addressed by id or name."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Request, Response
from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from metalnet.api.deps import context_of, run_unit_of_work
from metalnet.api.neutron.render import timestamp
from metalnet.api.neutron.routes import json_body
from metalnet.api.responses import JSONResponse
from metalnet.api.v1.bodies import unwrap
from metalnet.core import profiles
from metalnet.core.boot import BootProfile
from metalnet.core.repo import ListQuery, UnitOfWork

Text = Annotated[str, StringConstraints(max_length=4096)]


class ProfileCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: Annotated[str, StringConstraints(max_length=63)]
    description: Annotated[str, StringConstraints(max_length=1024)] = ""
    kernel: Text | None = None
    initrds: list[Text] = Field(default_factory=list, max_length=16)
    cmdline: Text = ""
    script: Annotated[str, StringConstraints(max_length=65536)] | None = None
    chain_url: Text | None = None


class ProfileUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: Annotated[str, StringConstraints(max_length=63)] | None = None
    description: Annotated[str, StringConstraints(max_length=1024)] | None = None
    kernel: Text | None = None
    initrds: list[Text] | None = Field(None, max_length=16)
    cmdline: Text | None = None
    script: Annotated[str, StringConstraints(max_length=65536)] | None = None
    chain_url: Text | None = None


def render_profile(profile: BootProfile) -> dict[str, Any]:
    """A profile as the API shows it."""
    return {
        "id": profile.id,
        "name": profile.name,
        "kind": profile.kind,
        "description": profile.description,
        "kernel": profile.kernel,
        "initrds": list(profile.initrds),
        "cmdline": profile.cmdline,
        "script": profile.script,
        "chain_url": profile.chain_url,
        "project_id": profile.project_id,
        "revision_number": profile.revision_number,
        "created_at": timestamp(profile.created_at),
        "updated_at": timestamp(profile.updated_at),
    }


def _body(payload: Any, schema: type[BaseModel]) -> dict[str, Any]:
    return unwrap(payload, "boot_profile", schema)


def boot_profiles_router() -> APIRouter:
    """Routes of ``/v1/boot-profiles``."""
    router = APIRouter(prefix="/v1/boot-profiles", tags=["boot profiles"])

    @router.get("", summary="List boot profiles")
    async def list_profiles(request: Request) -> JSONResponse:
        def work(uow: UnitOfWork) -> list[dict[str, Any]]:
            found = uow.boot_profiles.list(ListQuery(sorts=(("name", True),)))
            return [render_profile(p) for p in found]

        return JSONResponse({"boot_profiles": await run_unit_of_work(request, work)})

    @router.post("", status_code=201, summary="Create a boot profile (admin)")
    async def create(request: Request) -> JSONResponse:
        ctx, attrs = context_of(request), _body(await json_body(request), ProfileCreate)
        item = await run_unit_of_work(
            request, lambda uow: render_profile(profiles.create_profile(uow, ctx, attrs)),
            write=True,
        )
        return JSONResponse({"boot_profile": item}, status_code=201)

    @router.get("/{ref}", summary="Show a boot profile (by id or name)")
    async def show(request: Request, ref: str) -> JSONResponse:
        item = await run_unit_of_work(
            request, lambda uow: render_profile(profiles.resolve_profile(uow, ref))
        )
        return JSONResponse({"boot_profile": item})

    @router.put("/{ref}", summary="Update a boot profile (admin)")
    async def update(request: Request, ref: str) -> JSONResponse:
        ctx, changes = context_of(request), _body(await json_body(request), ProfileUpdate)
        item = await run_unit_of_work(
            request, lambda uow: render_profile(profiles.update_profile(uow, ctx, ref, changes)),
            write=True,
        )
        return JSONResponse({"boot_profile": item})

    @router.delete("/{ref}", status_code=204, summary="Delete an unused boot profile (admin)")
    async def delete(request: Request, ref: str) -> Response:
        ctx = context_of(request)
        await run_unit_of_work(
            request, lambda uow: profiles.delete_profile(uow, ctx, ref), write=True
        )
        return Response(status_code=204)

    return router
