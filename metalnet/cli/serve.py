"""``metalnet serve``: the one-host composition of store, API, view, DHCP and boot files.

Everything runs in one asyncio loop. SIGTERM and SIGINT stop it cleanly: the
API stops accepting, in-flight requests finish, and the process exits 0.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import signal
import socket

import uvicorn
import uvloop

from metalnet.api.app import create_app
from metalnet.api.v1.counters import Counters
from metalnet.boot import assets
from metalnet.boot.defaults import boot_defaults_for
from metalnet.boot.service import BootService
from metalnet.compute.config import ComputeConfig
from metalnet.compute.reconciler import OwnershipReconciler
from metalnet.compute.switches import load_drivers
from metalnet.core.view import BootView
from metalnet.dhcp.server import interface_address
from metalnet.dhcp.service import DhcpService
from metalnet.discovery.wiring import discovery_service
from metalnet.http_server import EmbeddedServer
from metalnet.settings import Settings
from metalnet.store.follow import FeedFollower
from metalnet.store.store import Store

log = logging.getLogger("metalnet.serve")


def decide_noauth(settings: Settings, store: Store) -> bool:
    """``--noauth``, or a loopback listen with no token created yet."""
    if settings.noauth:
        return True
    return settings.listens_on_loopback and not store.tokens.list()


def _api_server(
    settings: Settings, store: Store, compute: ComputeConfig, view: BootView | None,
    counters: Counters | None,
) -> EmbeddedServer:
    noauth = decide_noauth(settings, store)
    host, port = settings.listen_address
    config = uvicorn.Config(
        create_app(store, noauth=noauth, compute=compute, view=view, counters=counters),
        host=host, port=port,
        log_level="warning", access_log=False, lifespan="off",
        http="httptools", proxy_headers=False,  # docs/0006-read-path.md
    )
    log.info("API on http://%s:%d (%s), database %s", host, port,
             "noauth" if noauth else "token auth", settings.database_url.split("@")[-1])
    return EmbeddedServer(config)


async def _start_provisioning(
    settings: Settings, store: Store, view: BootView, stack: contextlib.AsyncExitStack
) -> Counters:
    """Boot files and DHCP on the addresses of the ``--interface`` interfaces.

    :returns: what reads their counters.
    """
    addresses = [
        socket.inet_ntoa(interface_address(i).to_bytes(4, "big"))
        for i in settings.interface_map.values()
    ]
    installed = assets.install(settings.boot_directory, settings.bootloader_dir)
    missing = [a.name for a in installed if not a.installed and a.name in assets.REQUIRED]
    if missing:
        log.warning("bootloaders missing (install Debian's ipxe): %s", ", ".join(missing))
    dhcp = DhcpService(
        view, settings.interface_map, settings.state_dir, store.sightings.save,
        settings.dhcp_lease_time, boot_defaults_for(settings.http_port, view),
    )
    # Unknown machines on discover networks boot by their lease; they post inventories
    # to /v1/discovery on the boot HTTP port (docs/discovery.md).
    locator, routes = discovery_service(store, view, dhcp.leases, settings.interface_map)
    boot = BootService(
        view, settings.boot_directory, addresses, settings.tftp_port, settings.http_port,
        locate_unknown=locator.network_of, http_routes=routes, tftp_workers=settings.tftp_workers,
    )
    await boot.start()
    stack.push_async_callback(boot.stop)
    dhcp.start()
    stack.push_async_callback(dhcp.stop)

    return lambda: {"dhcp": dhcp.counters(), "tftp": boot.tftp_counters()}


async def serve(settings: Settings) -> None:
    """Run until SIGTERM/SIGINT; whatever started is stopped in reverse order."""
    settings.state_dir.mkdir(parents=True, exist_ok=True)
    async with contextlib.AsyncExitStack() as stack:
        store = Store(settings.database_url)
        stack.callback(store.close)
        view = BootView()
        follower = FeedFollower(store, view)
        await follower.start()
        # The loaded view is long-lived: keep it out of the collector's generations so
        # full collections stay short on the packet path.
        gc.freeze()
        stack.push_async_callback(follower.stop)
        counters = None
        if settings.interface_map:
            counters = await _start_provisioning(settings, store, view, stack)
        compute = ComputeConfig(
            dead_after=settings.hypervisor_dead_after,
            switches=load_drivers(settings.switch_drivers),
        )
        reconciler = OwnershipReconciler(store.unit_of_work, compute)
        await reconciler.start()
        stack.push_async_callback(reconciler.stop)
        # Instances are ready once this view has their changes, when it serves DHCP.
        server = _api_server(
            settings, store, compute, view if settings.interface_map else None, counters
        )
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(signum, lambda: setattr(server, "should_exit", True))
        await server.serve()
    log.info("stopped")


def run_serve(settings: Settings) -> None:
    """Run :func:`serve` on uvloop (a faster event loop for the packet paths)."""
    uvloop.run(serve(settings))
