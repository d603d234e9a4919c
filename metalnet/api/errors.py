"""Errors as Neutron's body: ``{"NeutronError": {"type", "message", "detail"}}``."""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from starlette.exceptions import HTTPException

from metalnet.api.responses import JSONResponse
from metalnet.errors import MetalnetError

log = logging.getLogger(__name__)

_HTTP_TYPES = {404: "HTTPNotFound", 405: "HTTPMethodNotAllowed", 400: "HTTPBadRequest"}


def _body(kind: str, message: str) -> dict[str, dict[str, str]]:
    return {"NeutronError": {"type": kind, "message": message, "detail": ""}}


def error_response(exc: MetalnetError) -> JSONResponse:
    """The response for a metalnet error."""
    return JSONResponse(_body(exc.type, exc.message), status_code=exc.status)


def install_error_handlers(app: FastAPI) -> None:
    """Every error leaves the API in Neutron's body; unexpected ones are logged, not shown."""

    async def on_metalnet_error(_request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, MetalnetError)
        return error_response(exc)

    async def on_http_error(_request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, HTTPException)
        kind = _HTTP_TYPES.get(exc.status_code, "HTTPError")
        return JSONResponse(_body(kind, str(exc.detail)), status_code=exc.status_code)

    async def on_unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unexpected error on %s %s", request.method, request.url.path)
        return JSONResponse(_body("InternalError", "Request failed: internal server error."), 500)

    app.add_exception_handler(MetalnetError, on_metalnet_error)
    app.add_exception_handler(HTTPException, on_http_error)
    app.add_exception_handler(Exception, on_unexpected)
