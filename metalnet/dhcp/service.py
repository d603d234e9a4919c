"""The DHCP role of a host: engine, leases, sockets and housekeeping, started together."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from metalnet.core.boot import BootDefaults, no_defaults
from metalnet.core.model import Sighting
from metalnet.core.view import BootView
from metalnet.dhcp.engine import DhcpEngine
from metalnet.dhcp.leases import LeaseStore
from metalnet.dhcp.server import DhcpServer
from metalnet.dhcp.sightings import SightingBook

log = logging.getLogger(__name__)

HOUSEKEEPING_SECONDS = 2.0

SaveSightings = Callable[[Sequence[Sighting]], None]


class DhcpService:
    """Runs DHCP on ``interfaces`` (physical network -> interface) from ``view``.

    :param state_dir: where the lease journal lives.
    :param save_sightings: stores sightings (called in a thread, in batches).
    """

    def __init__(
        self,
        view: BootView,
        interfaces: dict[str, str],
        state_dir: Path,
        save_sightings: SaveSightings,
        lease_time: int = 86400,
        boot_defaults: BootDefaults = no_defaults,
    ) -> None:
        self.leases = LeaseStore(state_dir / "leases.journal", time.time)
        if self.leases.torn_lines:
            log.warning("lease journal: skipped %d unreadable lines", self.leases.torn_lines)
        self.sightings = SightingBook()
        self.engine = DhcpEngine(
            view, self.leases, self.sightings, time.time, lease_time, boot_defaults
        )
        self.server = DhcpServer(self.engine, interfaces)
        self.save_sightings = save_sightings
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        """Open the sockets and start housekeeping.

        :raises OSError: an interface is missing or has no IPv4 address.
        """
        self.server.start()
        self._task = asyncio.create_task(self._housekeeping(), name="dhcp-housekeeping")

    def counters(self) -> dict[str, int]:
        """What the server counted so far (received, sent by type, drops by reason)."""
        return dict(sorted(self.server.counters.items()))

    async def _housekeeping(self) -> None:
        while True:
            await asyncio.sleep(HOUSEKEEPING_SECONDS)
            self.leases.expire()
            dirty = self.sightings.take_dirty()
            if dirty:
                try:
                    await asyncio.to_thread(self.save_sightings, dirty)
                except Exception:
                    log.exception("saving %d sightings failed; they stay in memory", len(dirty))

    async def stop(self) -> None:
        """Close sockets, flush leases, save the last sightings."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        self.server.close()
        self.leases.close()
        while dirty := self.sightings.take_dirty():
            await asyncio.to_thread(self.save_sightings, dirty)
