"""What every ``/v1`` router shares: ``{"<resource>": {...}}`` bodies checked by a
pydantic schema."""

from __future__ import annotations

from typing import Any

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
