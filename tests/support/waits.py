"""Waiting inside an event loop for something other tasks or threads bring about."""

from __future__ import annotations

import asyncio
from collections.abc import Callable


async def until(condition: Callable[[], bool], timeout: float = 10.0) -> None:
    """Let the loop run until ``condition()`` holds.

    :raises TimeoutError: it did not within ``timeout`` seconds.
    """
    async with asyncio.timeout(timeout):
        while not condition():
            await asyncio.sleep(0.001)
