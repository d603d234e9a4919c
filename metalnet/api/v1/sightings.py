"""``/v1/sightings``: unknown MACs the DHCP service heard, most recent first."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request

from metalnet.api.deps import in_thread, store_of
from metalnet.api.neutron.render import timestamp
from metalnet.api.responses import JSONResponse
from metalnet.core.mac import canonical_mac
from metalnet.errors import InvalidInput


def _render(row: dict[str, Any]) -> dict[str, Any]:
    return {
        **row,
        "first_seen": timestamp(row["first_seen"]),
        "last_seen": timestamp(row["last_seen"]),
    }


def sightings_router() -> APIRouter:
    """Routes of ``/v1/sightings``."""
    router = APIRouter(prefix="/v1/sightings", tags=["sightings"])

    @router.get("", summary="Unknown MACs seen by DHCP (filter with ?mac=)")
    async def list_sightings(request: Request, mac: str | None = None) -> JSONResponse:
        try:
            wanted = canonical_mac(mac) if mac else None
        except ValueError as exc:
            raise InvalidInput(reason=str(exc)) from None
        rows = await in_thread(store_of(request).sightings.list, wanted)
        return JSONResponse({"sightings": [_render(r) for r in rows]})

    return router
