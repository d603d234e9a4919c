"""The HTTP API application: the Neutron v2.0 dialect and metalnet's own ``/v1``."""

from __future__ import annotations

from fastapi import FastAPI

from metalnet.api.auth import AuthMiddleware
from metalnet.api.errors import install_error_handlers
from metalnet.api.local_network import LocalNetworkApi
from metalnet.api.neutron.meta import meta_router
from metalnet.api.neutron.routes import neutron_router
from metalnet.api.v1.boot_profiles import boot_profiles_router
from metalnet.api.v1.counters import Counters, counters_router
from metalnet.api.v1.discovery import discovery_router
from metalnet.api.v1.hypervisors import hypervisors_router
from metalnet.api.v1.instances import instances_router
from metalnet.api.v1.nodes import nodes_router
from metalnet.api.v1.sightings import sightings_router
from metalnet.compute.attach import Attacher
from metalnet.compute.cache import NetworkCache
from metalnet.compute.config import ComputeConfig
from metalnet.compute.instances import ComputeService
from metalnet.core.view import BootView
from metalnet.store.store import Store


def create_app(
    store: Store, noauth: bool, compute: ComputeConfig | None = None,
    view: BootView | None = None, counters: Counters | None = None,
) -> FastAPI:
    """An ASGI app over ``store``.

    :param noauth: every caller is an admin; otherwise ``X-Auth-Token`` is required.
    :param compute: hypervisor liveness, switch drivers, clock (defaults otherwise).
    :param view: the DHCP view of this process, when it runs DHCP (instances are
        ready once it has applied their changes).
    :param counters: reads the DHCP and TFTP counters of this process, when it runs them.
    """
    app = FastAPI(
        title="metalnet",
        summary="Provisioning network for bare-metal machines (Neutron v2.0 dialect)",
        version="0.1.0",
        docs_url="/docs",
        redoc_url=None,
        # metalnet exports no OpenTelemetry data. Left on, FastAPI asks the global
        # tracer and meter providers on every request: 7 % of a port look-up's loop time.
        telemetry={"tracing": False, "metrics": False, "logs": False, "operation_spans": False},
    )
    app.state.store = store
    app.state.compute = compute = compute or ComputeConfig()
    app.state.view = view
    app.state.counters = counters
    cache = NetworkCache(LocalNetworkApi(store))
    app.state.compute_service = ComputeService(
        store.unit_of_work, Attacher(cache, compute.switches)
    )
    install_error_handlers(app)
    app.add_middleware(AuthMiddleware, tokens=None if noauth else store.tokens)
    app.include_router(neutron_router())
    app.include_router(meta_router())
    app.include_router(boot_profiles_router())
    app.include_router(sightings_router())
    app.include_router(discovery_router())
    app.include_router(hypervisors_router())
    app.include_router(nodes_router())
    app.include_router(instances_router())
    app.include_router(counters_router())
    return app
