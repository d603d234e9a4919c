"""``POST /v1/discovery``: the machine-facing endpoint, served on the boot HTTP port.

The API listens on loopback by default; the boot HTTP port is on the provisioning
network already, so the discovery ramdisk posts there. Checks, in order:

1. the body is at most :data:`~metalnet.discovery.schema.MAX_BODY` bytes (413);
2. the client address holds a lease, or a port's address, on a served network (403);
3. the body is a valid inventory (400) listing the MAC holding that address (403);
4. that MAC posted fewer than ``limit`` times in ``window`` seconds (429).

The machine gets ``{"status", "id", "name", "state", "rule", "error"}`` back, never
an internal error.
"""

from __future__ import annotations

import logging
import time
from collections import deque
from collections.abc import Callable
from datetime import datetime
from typing import Any

import anyio
from pydantic import ValidationError
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from metalnet.discovery.enroll import Ingestor, Source
from metalnet.discovery.locate import LeaseLocator
from metalnet.discovery.schema import MAX_BODY, Inventory

log = logging.getLogger(__name__)

SightingOf = Callable[[str], dict[str, Any] | None]


class RateLimit:
    """At most ``limit`` accepted posts per key in any ``window`` seconds."""

    def __init__(self, limit: int = 6, window: float = 60.0,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.limit = limit
        self.window = window
        self.clock = clock
        self._seen: dict[str, deque[float]] = {}

    def allow(self, key: str) -> bool:
        now = self.clock()
        times = self._seen.setdefault(key, deque())
        while times and times[0] <= now - self.window:
            times.popleft()
        if len(times) >= self.limit:
            return False
        times.append(now)
        if len(self._seen) > 100_000:  # bounded: forget idle keys
            self._seen = {k: v for k, v in self._seen.items() if v}
        return True


def _plain(row: dict[str, Any] | None) -> dict[str, Any] | None:
    if row is None:
        return None
    return {k: (v.isoformat() if isinstance(v, datetime) else v) for k, v in row.items()}


def _error(status: int, message: str, headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status, headers=headers)


def create_discovery_app(
    ingestor: Ingestor, locator: LeaseLocator, sighting_of: SightingOf,
    limit: RateLimit | None = None,
) -> Starlette:
    """The ASGI app answering ``POST /v1/discovery`` (see the module docstring)."""
    limiter = limit or RateLimit()

    async def post(request: Request) -> JSONResponse:
        address = request.client.host if request.client else ""
        body = bytearray()
        async for chunk in request.stream():
            body += chunk
            if len(body) > MAX_BODY:
                return _error(413, f"an inventory is at most {MAX_BODY} bytes")
        holder = locator.holder(address)
        if holder is None:
            log.warning("discovery: refused %s: no lease on a provisioning network", address)
            return _error(403, "this address holds no lease on a provisioning network")
        try:
            inventory = Inventory.model_validate_json(bytes(body))
        except ValidationError as exc:
            problems = "; ".join(
                f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors()[:5]
            )
            return _error(400, f"invalid inventory: {problems}")
        if holder.mac not in inventory.macs:
            return _error(403, f"{address} is leased to {holder.mac}, which the inventory lacks")
        if not limiter.allow(holder.mac):
            return _error(429, "too many inventories from this MAC; retry later",
                          {"Retry-After": str(int(limiter.window))})
        source = Source(address, holder.mac, holder.network_id)
        try:
            sighting = _plain(await anyio.to_thread.run_sync(sighting_of, holder.mac))
            outcome = await anyio.to_thread.run_sync(ingestor.ingest, inventory, source, sighting)
        except Exception:
            log.exception("discovery: inventory from %s (%s) not recorded", address, holder.mac)
            return _error(503, "the inventory could not be recorded; retry later")
        log.info("discovery: inventory from %s (%s): %s %s%s", address, holder.mac,
                 outcome.status, outcome.machine.name or outcome.machine.id,
                 f" by rule {outcome.rule}" if outcome.rule else "")
        status = 201 if outcome.status in ("discovered", "enrolled", "registered") else 200
        return JSONResponse(outcome.as_dict(), status_code=status)

    return Starlette(routes=[Route("/v1/discovery", post, methods=["POST"])])
