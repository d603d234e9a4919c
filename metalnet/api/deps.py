"""What routes read from the application state (the store, the caller), and how
they run work in one of the store's units of work."""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import ParamSpec, TypeVar

from fastapi import Request

from metalnet.core.context import RequestContext
from metalnet.store.store import Store
from metalnet.store.uow import SqlUnitOfWork

T = TypeVar("T")
P = ParamSpec("P")

_THREADS = ThreadPoolExecutor(max_workers=32, thread_name_prefix="api")
"""Where routes run blocking work (database units of work, token checks). As many
threads as the PostgreSQL pool has connections (10 + 20 overflow), and then some."""


async def in_thread(function: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
    """``function(*args, **kwargs)`` on a worker thread, awaited.

    The event loop's own executor hand-off: Starlette's ``run_in_threadpool`` (anyio)
    cost 0.15 ms of the loop's CPU per call, a tenth of a whole port look-up.
    """
    call = functools.partial(function, *args, **kwargs)
    return await asyncio.get_running_loop().run_in_executor(_THREADS, call)


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
    return await in_thread(in_unit_of_work, store_of(request), work, write)
