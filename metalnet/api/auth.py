"""Authentication: ``noauth`` (every caller is admin) or ``X-Auth-Token`` tokens."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from fastapi import Request, Response
from starlette.concurrency import run_in_threadpool

from metalnet.api.errors import error_response
from metalnet.core.context import ADMIN, RequestContext
from metalnet.errors import NotAuthenticated
from metalnet.store.tokens import TokenStore

PUBLIC_PATHS = frozenset({"/", "/v2.0", "/v2.0/", "/openapi.json", "/docs", "/healthz"})

Handler = Callable[[Request], Awaitable[Response]]


def noauth_context(request: Request) -> RequestContext:
    """Admin; the project comes from ``X-Project-Id`` when a caller sends one."""
    project = request.headers.get("x-project-id")
    return RequestContext(project, is_admin=True) if project else ADMIN


def make_auth_middleware(
    tokens: TokenStore | None,
) -> Callable[[Request, Handler], Awaitable[Response]]:
    """A middleware that sets ``request.state.context``; ``tokens=None`` means noauth."""

    async def authenticate(request: Request, call_next: Handler) -> Response:
        if tokens is None:
            request.state.context = noauth_context(request)
            return await call_next(request)
        secret = request.headers.get("x-auth-token")
        context = await run_in_threadpool(tokens.authenticate, secret) if secret else None
        if context is None:
            if request.url.path in PUBLIC_PATHS:
                request.state.context = RequestContext("", is_admin=False)
                return await call_next(request)
            return error_response(NotAuthenticated())
        request.state.context = context
        return await call_next(request)

    return authenticate
