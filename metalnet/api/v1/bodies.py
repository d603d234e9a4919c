"""What every ``/v1`` router shares: ``{"<resource>": {...}}`` bodies checked by a
pydantic schema, and ``ETag``/``If-None-Match`` on shows."""

from __future__ import annotations

from typing import Any

from fastapi import Request, Response
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ValidationError

from metalnet.api.neutron.routes import validation_message
from metalnet.errors import BadRequest


def unwrap(payload: Any, resource: str, schema: type[BaseModel]) -> dict[str, Any]:
    """The attributes the caller set in ``{resource: {...}}``, under the schema's
    field names (aliases resolved).

    :raises BadRequest: another shape, or a value the schema refuses.
    """
    if not isinstance(payload, dict) or set(payload) != {resource}:
        raise BadRequest(resource=resource, reason=f"the body must be {{'{resource}': {{...}}}}")
    try:
        model = schema.model_validate(payload[resource])
    except ValidationError as exc:
        raise BadRequest(resource=resource, reason=validation_message(exc)) from exc
    return model.model_dump(exclude_unset=True, by_alias=False)


def shown(request: Request, resource: str, item: dict[str, Any]) -> Response:
    """``{resource: item}`` with ``ETag: "<revision_number>"``; 304 when the caller
    already holds that revision (``If-None-Match``)."""
    etag = f'"{item["revision_number"]}"'
    if request.headers.get("if-none-match") == etag:
        return Response(status_code=304, headers={"ETag": etag})
    return JSONResponse({resource: item}, headers={"ETag": etag})
