"""What routes read from the application state: the store and the caller."""

from __future__ import annotations

from fastapi import Request

from metalnet.core.context import RequestContext
from metalnet.store.store import Store


def store_of(request: Request) -> Store:
    """The store the application was created with."""
    store: Store = request.app.state.store
    return store


def context_of(request: Request) -> RequestContext:
    """The caller, as the authentication middleware identified it."""
    context: RequestContext = request.state.context
    return context
