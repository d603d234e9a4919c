"""The HTTP API application: the Neutron v2.0 dialect and metalnet's own ``/v1``."""

from __future__ import annotations

from fastapi import FastAPI

from metalnet.api.auth import AuthMiddleware
from metalnet.api.errors import install_error_handlers
from metalnet.api.neutron.meta import meta_router
from metalnet.api.neutron.routes import neutron_router
from metalnet.api.v1.boot_profiles import boot_profiles_router
from metalnet.api.v1.sightings import sightings_router
from metalnet.store.store import Store


def create_app(store: Store, noauth: bool) -> FastAPI:
    """An ASGI app over ``store``.

    :param noauth: every caller is an admin; otherwise ``X-Auth-Token`` is required.
    """
    app = FastAPI(
        title="metalnet",
        summary="Provisioning network for bare-metal machines (Neutron v2.0 dialect)",
        version="0.1.0",
        docs_url="/docs",
        redoc_url=None,
    )
    app.state.store = store
    install_error_handlers(app)
    app.add_middleware(AuthMiddleware, tokens=None if noauth else store.tokens)
    app.include_router(meta_router())
    app.include_router(neutron_router())
    app.include_router(boot_profiles_router())
    app.include_router(sightings_router())
    return app
