"""Keeps a :class:`~metalnet.core.view.BootView` current from the store's change feed.

In one process (``metalnet serve``) the feed tells the follower after every
commit; a one-second poll catches changes committed by other API processes
sharing a PostgreSQL database. Database reads run in a thread; the view is
only ever changed on the event loop, between packets.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

from metalnet.core.view import BootView
from metalnet.store.store import Store

log = logging.getLogger(__name__)

POLL_SECONDS = 1.0


class FeedFollower:
    """Loads a snapshot, then applies feed changes as they are committed."""

    def __init__(self, store: Store, view: BootView) -> None:
        self.store = store
        self.view = view
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    async def start(self) -> None:
        """Load the snapshot and start following."""
        self._loop = asyncio.get_running_loop()
        revision, resources = await asyncio.to_thread(self.store.snapshot)
        self.view.load(revision, resources)
        self.store.feed.subscribe(self._on_commit)
        self._task = asyncio.create_task(self._follow(), name="feed-follower")
        log.info("view loaded at revision %d (%d ports)", revision, len(self.view.ports))

    def _on_commit(self, _revision: int) -> None:
        # Called from the API's worker thread after a commit.
        if self._loop is not None and not self._loop.is_closed():
            self._loop.call_soon_threadsafe(self._wake.set)

    async def catch_up(self) -> int:
        """Apply everything committed so far; the view's revision after."""
        while True:
            changes = await asyncio.to_thread(self.store.feed.changes_since, self.view.revision)
            if not changes:
                return self.view.revision
            self.view.apply(changes)

    async def _follow(self) -> None:
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), POLL_SECONDS)
            self._wake.clear()
            try:
                await self.catch_up()
            except Exception:  # the database may be away for a while: keep serving
                log.exception("feed follow failed; retrying")

    async def stop(self) -> None:
        """Stop following."""
        self.store.feed.unsubscribe(self._on_commit)
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
