"""``metalnet serve``: the one-host composition of store, API, view and DHCP.

Everything runs in one asyncio loop. SIGTERM and SIGINT stop it cleanly: the
API stops accepting, in-flight requests finish, and the process exits 0.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from collections.abc import Iterator

import uvicorn

from metalnet.api.app import create_app
from metalnet.core.view import BootView
from metalnet.dhcp.service import DhcpService
from metalnet.settings import Settings
from metalnet.store.follow import FeedFollower
from metalnet.store.store import Store

log = logging.getLogger("metalnet.serve")


class _EmbeddedServer(uvicorn.Server):
    """uvicorn without its own signal handling: ``serve`` owns the signals."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


def decide_noauth(settings: Settings, store: Store) -> bool:
    """``--noauth``, or a loopback listen with no token created yet."""
    if settings.noauth:
        return True
    return settings.listens_on_loopback and not store.tokens.list()


async def serve(settings: Settings) -> None:
    """Run until SIGTERM/SIGINT."""
    settings.state_dir.mkdir(parents=True, exist_ok=True)
    store = Store(settings.database_url)
    noauth = decide_noauth(settings, store)
    host, port = settings.listen_address
    config = uvicorn.Config(
        create_app(store, noauth=noauth), host=host, port=port, log_level="warning",
        access_log=False, lifespan="off",
    )
    server = _EmbeddedServer(config)
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, lambda: setattr(server, "should_exit", True))
    view = BootView()
    follower = FeedFollower(store, view)
    await follower.start()
    dhcp = None
    if settings.interface_map:
        dhcp = DhcpService(view, settings.interface_map, settings.state_dir,
                           store.sightings.save, settings.dhcp_lease_time)
        dhcp.start()
    log.info(
        "API on http://%s:%d (%s), database %s", host, port,
        "noauth" if noauth else "token auth", settings.database_url.split("@")[-1],
    )
    try:
        await server.serve()
    finally:
        if dhcp is not None:
            await dhcp.stop()
        await follower.stop()
        store.close()
        log.info("stopped")
