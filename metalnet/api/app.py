"""The HTTP API application: the Neutron v2.0 dialect and metalnet's own ``/v1``."""

from __future__ import annotations

from fastapi import FastAPI, Request, Response

from metalnet.api.auth import Handler, make_auth_middleware
from metalnet.api.errors import error_response, install_error_handlers
from metalnet.api.neutron.meta import meta_router
from metalnet.api.neutron.routes import neutron_router
from metalnet.api.v1.boot_profiles import boot_profiles_router
from metalnet.api.v1.sightings import sightings_router
from metalnet.errors import InvalidInput
from metalnet.store.store import Store


async def refuse_nul(request: Request, call_next: Handler) -> Response:
    """Answer 400 to a NUL in the path or the query: PostgreSQL text cannot hold one."""
    params = request.query_params.multi_items()
    if "\x00" in request.scope["path"] or any("\x00" in k + v for k, v in params):
        return error_response(InvalidInput(reason="NUL characters are not allowed in URLs"))
    return await call_next(request)


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
    app.middleware("http")(make_auth_middleware(None if noauth else store.tokens))
    app.middleware("http")(refuse_nul)
    app.include_router(meta_router())
    app.include_router(neutron_router())
    app.include_router(boot_profiles_router())
    app.include_router(sightings_router())
    return app
