"""The ownership reconciler of an API process: every few seconds (and after each
heartbeat, see the hypervisor API) it writes every node's effective owner in one
unit of work, so a takeover reaches the DHCP views as one feed batch."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable

from metalnet.compute.config import ComputeConfig
from metalnet.core.model import Node
from metalnet.core.ownership import reconcile_owners
from metalnet.core.repo import UnitOfWork

log = logging.getLogger(__name__)

INTERVAL = 2.0


class OwnershipReconciler:
    """Runs :func:`~metalnet.core.ownership.reconcile_owners` every ``interval`` seconds."""

    def __init__(
        self, unit_of_work: Callable[[], UnitOfWork], config: ComputeConfig,
        interval: float = INTERVAL,
    ) -> None:
        self.unit_of_work = unit_of_work
        self.config = config
        self.interval = interval
        self._task: asyncio.Task[None] | None = None

    def run_once(self) -> list[Node]:
        """One reconciliation, committed; the nodes that changed owner."""
        with self.unit_of_work() as uow:
            moved = reconcile_owners(uow, self.config.clock(), self.config.dead_after)
            uow.commit()
        for node in moved:
            log.info("node %s: owner is now %s", node.name, node.effective_owner or "(none)")
        return moved

    async def start(self) -> None:
        """Start reconciling in the background."""
        self._task = asyncio.create_task(self._loop(), name="ownership-reconciler")

    async def _loop(self) -> None:
        while True:
            try:
                await asyncio.to_thread(self.run_once)
            except Exception:  # the database may be away for a while: keep trying
                log.exception("ownership reconciliation failed; retrying")
            await asyncio.sleep(self.interval)

    async def stop(self) -> None:
        """Stop reconciling."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
