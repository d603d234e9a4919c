"""Who is calling: ``noauth`` (every caller is admin) or ``X-Auth-Token`` tokens.

One pure ASGI middleware (no per-request task group, unlike Starlette's
``BaseHTTPMiddleware``) that also refuses NUL characters in the URL, which
PostgreSQL text cannot hold.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qsl

from starlette.datastructures import Headers
from starlette.types import ASGIApp, Receive, Scope, Send

from metalnet.api.deps import in_thread
from metalnet.api.errors import error_response
from metalnet.core.context import ADMIN, RequestContext
from metalnet.errors import InvalidInput, MetalnetError, NotAuthenticated
from metalnet.store.tokens import TokenStore

PUBLIC_PATHS = frozenset({"/", "/v2.0", "/v2.0/", "/openapi.json", "/docs", "/healthz"})


def has_nul(scope: Scope) -> bool:
    """A NUL in the path, or in a decoded query key or value."""
    if "\x00" in scope["path"]:
        return True
    query: bytes = scope.get("query_string", b"")
    # A NUL can only arrive raw or as %00: decode (as Starlette does) only then.
    return (b"%00" in query or b"\x00" in query) and any(
        "\x00" in k + v for k, v in parse_qsl(query.decode("latin-1"), keep_blank_values=True)
    )


class AuthMiddleware:
    """Sets ``request.state.context``; ``tokens=None`` means noauth.

    In noauth mode the caller is admin of ``X-Project-Id`` when sent, else of ``admin``.
    """

    def __init__(self, app: ASGIApp, tokens: TokenStore | None) -> None:
        self.app = app
        self.tokens = tokens

    async def _context(self, scope: Scope) -> RequestContext:
        headers = Headers(scope=scope)
        if self.tokens is None:
            project = headers.get("x-project-id")
            return RequestContext(project, is_admin=True) if project else ADMIN
        secret = headers.get("x-auth-token")
        context = await in_thread(self.tokens.authenticate, secret) if secret else None
        if context is not None:
            return context
        if scope["path"] in PUBLIC_PATHS:
            return RequestContext("", is_admin=False)
        raise NotAuthenticated()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        try:
            if has_nul(scope):
                raise InvalidInput(reason="NUL characters are not allowed in URLs")
            context = await self._context(scope)
        except MetalnetError as exc:
            await error_response(exc)(scope, receive, send)
            return
        state: dict[str, Any] = scope.setdefault("state", {})
        state["context"] = context
        await self.app(scope, receive, send)
