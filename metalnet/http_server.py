"""uvicorn embedded in metalnet's own event loop."""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import Iterator

import uvicorn


class EmbeddedServer(uvicorn.Server):
    """A uvicorn server that leaves signals to the process that embeds it."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


class BackgroundServer:
    """Runs an :class:`EmbeddedServer` as a task; :meth:`start` returns once it listens."""

    def __init__(self, config: uvicorn.Config) -> None:
        self.server = EmbeddedServer(config)
        self._task: asyncio.Task[None] | None = None

    async def start(self, sockets: list[socket.socket]) -> None:
        """Serve on ``sockets``.

        :raises RuntimeError: the server stopped before it was listening.
        """
        self._task = asyncio.create_task(self.server.serve(sockets=sockets), name="http-server")
        while not self.server.started:
            if self._task.done():
                self._task.result()
                raise RuntimeError("the HTTP server stopped during start-up")
            await asyncio.sleep(0.01)

    async def stop(self) -> None:
        """Ask the server to exit and wait for it."""
        if self._task is not None:
            self.server.should_exit = True
            await self._task
            self._task = None
