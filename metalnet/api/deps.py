"""What routes read from the application state (the store, the caller), and how
they run work in one of the store's units of work."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from fastapi import Request
from starlette.concurrency import run_in_threadpool

from metalnet.core.context import RequestContext
from metalnet.store.store import Store
from metalnet.store.uow import SqlUnitOfWork

T = TypeVar("T")


def store_of(request: Request) -> Store:
    """The store the application was created with."""
    store: Store = request.app.state.store
    return store


def context_of(request: Request) -> RequestContext:
    """The caller, as the authentication middleware identified it."""
    context: RequestContext = request.state.context
    return context


def in_unit_of_work(store: Store, work: Callable[[SqlUnitOfWork], T], write: bool = False) -> T:
    """``work(uow)`` in one unit of work of ``store``: read-only, or committed after
    ``work`` when ``write``. Blocking: call it from a worker thread."""
    with store.unit_of_work(readonly=not write) as uow:
        result = work(uow)
        if write:
            uow.commit()
        return result


async def run_unit_of_work(
    request: Request, work: Callable[[SqlUnitOfWork], T], write: bool = False
) -> T:
    """:func:`in_unit_of_work` on the application's store, in the thread pool."""
    return await run_in_threadpool(in_unit_of_work, store_of(request), work, write)
