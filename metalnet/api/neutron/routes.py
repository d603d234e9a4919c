"""The generic Neutron v2.0 routes: list, create (single and bulk), show, update,
delete and the tags sub-resource, for every :class:`ResourceKind`."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from fastapi import APIRouter, Request, Response
from pydantic import ValidationError

from metalnet.api.deps import context_of, run_unit_of_work
from metalnet.api.neutron.kinds import KINDS, PORT, ResourceKind
from metalnet.api.neutron.query import page_links, parse_list, project_fields
from metalnet.api.responses import JSONResponse
from metalnet.core.repo import UnitOfWork
from metalnet.core.resources import check_revision
from metalnet.core.tags import check_tag, replace_tags
from metalnet.errors import (
    BadRequest,
    InvalidInput,
    MarkerNotFound,
    NotFound,
    PreconditionFailed,
)


def validation_message(exc: ValidationError) -> str:
    """One readable line for a pydantic error, in Neutron's wording where it has one."""
    extra = [str(e["loc"][-1]) for e in exc.errors() if e["type"] == "extra_forbidden"]
    if extra:
        return "Unrecognized attribute(s) '" + ", ".join(extra) + "'"
    first = exc.errors()[0]
    where = ".".join(str(part) for part in first["loc"]) or "body"
    return f"Invalid input for {where}. Reason: {first['msg']}."


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


def _check_text(value: Any) -> None:
    """Refuse text no database stores faithfully, anywhere in a JSON value.

    :raises ValueError: a string (or key) holds NUL, which PostgreSQL text cannot,
        or a lone surrogate, which is not encodable as UTF-8.
    """
    if isinstance(value, str):
        if "\x00" in value:
            raise ValueError("text must not contain NUL characters")
        try:
            value.encode()
        except UnicodeEncodeError as exc:
            raise ValueError("text must be valid Unicode (no lone surrogates)") from exc
    elif isinstance(value, dict):
        for key, item in value.items():
            _check_text(key)
            _check_text(item)
    elif isinstance(value, list):
        for item in value:
            _check_text(item)


async def json_body(request: Request) -> Any:
    """The decoded body; strict JSON only (no NaN or Infinity, bounded nesting), and
    text every database stores (no NUL, no lone surrogate). Every route reads its
    JSON body through here.

    :raises InvalidInput: the body is not such JSON.
    """
    raw = await request.body()
    try:
        body = json.loads(raw, parse_constant=_refuse_constant)
    except RecursionError as exc:
        raise InvalidInput(reason="the body is nested too deeply") from exc
    except ValueError as exc:
        raise InvalidInput(reason=f"the body is not valid JSON ({exc})") from exc
    try:
        _check_text(body)
    except RecursionError as exc:  # as deep as json allows, and this adds frames
        raise InvalidInput(reason="the body is nested too deeply") from exc
    except ValueError as exc:
        raise InvalidInput(reason=str(exc)) from exc
    return body


def _expected_revision(request: Request) -> int | None:
    header = request.headers.get("if-match")
    if header is None:
        return None
    for part in header.split(","):
        name, _, value = part.strip().partition("=")
        if name == "revision_number":
            if not value.isdigit():
                raise InvalidInput(reason=f"bad If-Match header '{header}'")
            return int(value)
    raise PreconditionFailed("If-Match must be revision_number=N")


def checked_attributes(kind: ResourceKind, body: Any, schema: Any) -> dict[str, Any]:
    """:meth:`ResourceKind.attributes` of one body.

    :raises BadRequest: the schema refuses the body (in Neutron's wording).
    """
    try:
        return kind.attributes(body, schema)
    except ValidationError as exc:
        raise BadRequest(resource=kind.singular, reason=validation_message(exc)) from exc


def _unwrap(kind: ResourceKind, payload: Any) -> tuple[list[Any], bool]:
    """The resource bodies of a POST, and whether it was a bulk request."""
    if isinstance(payload, dict) and set(payload) == {kind.plural}:
        items = payload[kind.plural]
        if not isinstance(items, list) or not items:
            raise BadRequest(
                resource=kind.singular, reason=f"'{kind.plural}' must be a non-empty list"
            )
        return items, True
    if isinstance(payload, dict) and set(payload) == {kind.singular}:
        return [payload[kind.singular]], False
    raise BadRequest(
        resource=kind.singular,
        reason=f"the body must be {{'{kind.singular}': {{...}}}} or {{'{kind.plural}': [...]}}",
    )


def shown(
    request: Request, resource: str, item: dict[str, Any], fields: Sequence[str] = ()
) -> Response:
    """``{resource: item}`` (only ``fields`` when given) with ``ETag: "<revision_number>"``;
    304 when the caller already holds that revision (``If-None-Match``)."""
    etag = f'"{item["revision_number"]}"'
    if request.headers.get("if-none-match") == etag:
        return Response(status_code=304, headers={"ETag": etag})
    return JSONResponse({resource: project_fields(item, fields)}, headers={"ETag": etag})


def _add_resource_routes(router: APIRouter, kind: ResourceKind) -> None:
    base = f"/v2.0/{kind.plural}"

    async def list_resources(request: Request) -> JSONResponse:
        ctx = context_of(request)
        params = request.query_params.multi_items()
        parsed = parse_list(kind, params, None if ctx.is_admin else ctx.project_id)

        def work(uow: UnitOfWork) -> list[dict[str, Any]]:
            try:
                found = kind.repo(uow).list(parsed.query)
            except MarkerNotFound:
                raise kind.not_found(id=parsed.query.marker) from None
            return kind.render(uow, found)

        items = await run_unit_of_work(request, work)
        body: dict[str, Any] = {kind.plural: [project_fields(i, parsed.fields) for i in items]}
        links = page_links(request.scope["path"], params, parsed.query, [i["id"] for i in items])
        if links:
            body[f"{kind.plural}_links"] = links
        return JSONResponse(body)

    async def create_resources(request: Request) -> JSONResponse:
        ctx = context_of(request)
        items, bulk = _unwrap(kind, await json_body(request))
        schema = kind.create_schema
        attrs: list[Mapping[str, Any]] = [checked_attributes(kind, item, schema) for item in items]

        def work(uow: UnitOfWork) -> list[dict[str, Any]]:
            return kind.render(uow, kind.create(uow, ctx, attrs))

        created = await run_unit_of_work(request, work, write=True)
        body = {kind.plural: created} if bulk else {kind.singular: created[0]}
        return JSONResponse(body, status_code=201)

    async def show_resource(request: Request, resource_id: str) -> Response:
        ctx = context_of(request)
        fields = [f for v in request.query_params.getlist("fields") for f in v.split(",") if f]

        def work(uow: UnitOfWork) -> dict[str, Any]:
            return kind.render(uow, [kind.get(uow, ctx, resource_id)])[0]

        return shown(request, kind.singular, await run_unit_of_work(request, work), fields)

    async def update_resource(request: Request, resource_id: str) -> JSONResponse:
        ctx = context_of(request)
        expected = _expected_revision(request)
        payload = await json_body(request)
        if not isinstance(payload, dict) or set(payload) != {kind.singular}:
            raise BadRequest(
                resource=kind.singular, reason=f"the body must be {{'{kind.singular}': {{...}}}}"
            )
        changes = checked_attributes(kind, payload[kind.singular], kind.update_schema)

        def work(uow: UnitOfWork) -> dict[str, Any]:
            return kind.render(uow, [kind.update(uow, ctx, resource_id, changes, expected)])[0]

        item = await run_unit_of_work(request, work, write=True)
        return JSONResponse({kind.singular: item})

    async def delete_resource(request: Request, resource_id: str) -> Response:
        ctx = context_of(request)
        expected = _expected_revision(request)

        def work(uow: UnitOfWork) -> None:
            check_revision(kind.get(uow, ctx, resource_id), expected)
            kind.delete(uow, ctx, resource_id)

        await run_unit_of_work(request, work, write=True)
        return Response(status_code=204)

    # Lists (a compute layer's look-up by MAC) are served by a plain Starlette route,
    # matched first: FastAPI's request handler (dependency solving, operation hooks) took
    # a fifth of the loop's time per look-up, and this handler needs none of it. The
    # FastAPI route behind it is never matched; it keeps the list in the OpenAPI document.
    router.add_route(base, list_resources, methods=["GET"], include_in_schema=False)
    router.add_api_route(base, list_resources, methods=["GET"], summary=f"List {kind.plural}")
    router.add_api_route(base, create_resources, methods=["POST"], status_code=201,
                         summary=f"Create {kind.plural} (one, or several all-or-nothing)")
    item = base + "/{resource_id}"
    router.add_api_route(item, show_resource, methods=["GET"], summary=f"Show a {kind.singular}")
    router.add_api_route(item, update_resource, methods=["PUT"],
                         summary=f"Update a {kind.singular}")
    router.add_api_route(item, delete_resource, methods=["DELETE"], status_code=204,
                         summary=f"Delete a {kind.singular}")
    _add_tag_routes(router, kind, item + "/tags")


def _add_tag_routes(router: APIRouter, kind: ResourceKind, base: str) -> None:
    async def tag_work(
        request: Request, resource_id: str, change: Callable[[tuple[str, ...]], list[str]] | None
    ) -> tuple[str, ...]:
        ctx = context_of(request)

        def work(uow: UnitOfWork) -> tuple[str, ...]:
            obj = kind.get(uow, ctx, resource_id)
            if change is not None:
                obj = replace_tags(uow, kind.repo(uow), obj, change(obj.tags))
            return tuple(obj.tags)

        return await run_unit_of_work(request, work, write=change is not None)

    async def list_tags(request: Request, resource_id: str) -> JSONResponse:
        tags = await tag_work(request, resource_id, None)
        return JSONResponse({"tags": list(tags)})

    async def replace_all(request: Request, resource_id: str) -> JSONResponse:
        payload = await json_body(request)
        if not isinstance(payload, dict) or not isinstance(payload.get("tags"), list):
            raise BadRequest(resource="tags", reason="the body must be {'tags': [...]}")
        wanted = [check_tag(str(t)) for t in payload["tags"]]
        tags = await tag_work(request, resource_id, lambda _: wanted)
        return JSONResponse({"tags": list(tags)})

    async def remove_all(request: Request, resource_id: str) -> Response:
        await tag_work(request, resource_id, lambda _: [])
        return Response(status_code=204)

    async def check_one(request: Request, resource_id: str, tag: str) -> Response:
        tags = await tag_work(request, resource_id, None)
        if tag not in tags:
            raise NotFound(f"Tag {tag} could not be found for {kind.singular} {resource_id}.")
        return Response(status_code=204)

    async def add_one(request: Request, resource_id: str, tag: str) -> Response:
        check_tag(tag)
        await tag_work(request, resource_id, lambda tags: [*tags, tag])
        return Response(status_code=201)

    async def remove_one(request: Request, resource_id: str, tag: str) -> Response:
        def without(current: tuple[str, ...]) -> list[str]:
            if tag not in current:
                raise NotFound(f"Tag {tag} could not be found for {kind.singular} {resource_id}.")
            return [t for t in current if t != tag]

        await tag_work(request, resource_id, without)
        return Response(status_code=204)

    router.add_api_route(base, list_tags, methods=["GET"], summary=f"Tags of a {kind.singular}")
    router.add_api_route(base, replace_all, methods=["PUT"], summary="Replace all tags")
    router.add_api_route(base, remove_all, methods=["DELETE"], status_code=204,
                         summary="Remove all tags")
    one = base + "/{tag}"
    router.add_api_route(one, check_one, methods=["GET"], status_code=204, summary="Check a tag")
    router.add_api_route(one, add_one, methods=["PUT"], status_code=201, summary="Add a tag")
    router.add_api_route(one, remove_one, methods=["DELETE"], status_code=204,
                         summary="Remove a tag")


def neutron_router() -> APIRouter:
    """Routes of networks, subnets and ports."""
    router = APIRouter(tags=["neutron"])
    # Routes are matched in order: ports first, as compute layers look machines up by MAC.
    for kind in sorted(KINDS, key=lambda k: k is not PORT):
        _add_resource_routes(router, kind)
    return router
