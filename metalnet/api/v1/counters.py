"""``/v1/counters``: what the DHCP and TFTP services of this process counted.

Drops are counted by reason (``drop:unknown-mac:ignore``, ``drop:malformed:...``,
``duplicate-ack``, ...), so an operator can see what was refused and why without
reading logs. Admins only: the counts tell how busy the provisioning network is.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import APIRouter, Request

from metalnet.api.deps import context_of
from metalnet.api.responses import JSONResponse
from metalnet.core.resources import admin_only

Counters = Callable[[], dict[str, Any]]
"""Reads the running services' counters now (on the event loop)."""


def counters_router() -> APIRouter:
    """Routes of ``/v1/counters``."""
    router = APIRouter(prefix="/v1/counters", tags=["counters"])

    @router.get("", summary="DHCP and TFTP counters of this process (admin)")
    async def show_counters(request: Request) -> JSONResponse:
        admin_only(context_of(request), "read the service counters")
        read: Counters | None = request.app.state.counters
        return JSONResponse({"counters": read() if read is not None else {}})

    return router
