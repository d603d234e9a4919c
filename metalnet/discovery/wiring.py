"""Discovery in ``metalnet serve``: the lease locator and the ``/v1/discovery`` route."""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

from starlette.types import ASGIApp

from metalnet.core.view import BootView
from metalnet.dhcp.leases import LeaseStore
from metalnet.discovery.endpoint import create_discovery_app
from metalnet.discovery.enroll import Ingestor, NodeSink, create_core_node
from metalnet.discovery.locate import LeaseLocator
from metalnet.store.discovery import DiscoveryRepo
from metalnet.store.store import Store

DISCOVERY_PATH = "/v1/discovery"


def ingestor_for(store: Store, nodes: NodeSink | None = create_core_node) -> Ingestor:
    """An :class:`Ingestor` over ``store`` (creating nodes unless ``nodes`` is None)."""
    return Ingestor(store.unit_of_work, lambda uow: DiscoveryRepo(uow.connection), nodes)


def discovery_service(
    store: Store, view: BootView, leases: LeaseStore, served: Collection[str]
) -> tuple[LeaseLocator, dict[str, ASGIApp]]:
    """The locator (for boot files) and the boot-port routes (for the agent)."""
    locator = LeaseLocator(view, leases, served)

    def sighting_of(mac: str) -> dict[str, Any] | None:
        rows = store.sightings.list(mac)
        return rows[0] if rows else None

    app = create_discovery_app(ingestor_for(store), locator, sighting_of)
    return locator, {DISCOVERY_PATH: app}
