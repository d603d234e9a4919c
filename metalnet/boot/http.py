"""HTTP boot: GET and HEAD of any path from a :class:`~metalnet.boot.sources.FileSource`.

Answers 200 (or 206 for one ``Range``), 404 for a missing file, 403 for a
refused path (the source's traversal rules apply unchanged), 416 for a range
past the end. Bodies are streamed in ``chunk_size`` pieces read in a worker
thread, so a large kernel or initrd is never held in memory.
"""

from __future__ import annotations

import logging

import anyio
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route
from starlette.types import Receive, Scope, Send

from metalnet.boot import events
from metalnet.boot.errors import AccessDenied, FileNotFound
from metalnet.boot.events import EventHook
from metalnet.boot.http_range import ByteRange, RangeNotSatisfiable, parse_range
from metalnet.boot.sources import FileSource, OpenedFile

log = logging.getLogger(__name__)

CHUNK_SIZE = 256 * 1024

Address = tuple[str, int]


def create_boot_app(
    source: FileSource, on_event: EventHook | None = None, *, chunk_size: int = CHUNK_SIZE
) -> Starlette:
    """An ASGI app serving every path of ``source``; mount it under any prefix.

    :param source: where files come from.
    :param on_event: called with the ``http.*`` events of :mod:`metalnet.boot.events`.
    :param chunk_size: bytes read and sent at a time.
    """

    def emit(name: str, client: Address, path: str, **details: object) -> None:
        if on_event is None:
            return
        try:
            on_event(name, client, path, **details)
        except Exception:  # the hook is someone else's code; serving goes on
            log.exception("http boot: event hook failed for %s", name)

    async def serve_file(request: Request) -> Response:
        path: str = request.path_params["path"]
        client = (request.client.host, request.client.port) if request.client else ("", 0)
        try:
            opened = await anyio.to_thread.run_sync(source.open, path)
        except FileNotFound:
            emit(events.HTTP_REQUEST_REFUSED, client, path, status=404, reason="not found")
            return PlainTextResponse("not found\n", status_code=404)
        except AccessDenied as exc:
            emit(events.HTTP_REQUEST_REFUSED, client, path, status=403, reason=exc.message)
            return PlainTextResponse("forbidden\n", status_code=403)
        headers = {"accept-ranges": "bytes", "content-type": "application/octet-stream"}
        try:
            byte_range = parse_range(request.headers.get("range"), opened.size)
        except RangeNotSatisfiable:
            opened.close()
            emit(events.HTTP_REQUEST_REFUSED, client, path, status=416, reason="range")
            headers["content-range"] = f"bytes */{opened.size}"
            return Response(status_code=416, headers=headers)
        status = 200
        if byte_range is None:
            byte_range = ByteRange(0, opened.size)
        else:
            status = 206
            headers["content-range"] = (
                f"bytes {byte_range.start}-{byte_range.stop - 1}/{opened.size}"
            )
        headers["content-length"] = str(byte_range.stop - byte_range.start)
        emit(
            events.HTTP_TRANSFER_STARTED,
            client,
            path,
            method=request.method,
            status=status,
            size=opened.size,
            range=headers.get("content-range"),
        )
        if request.method == "HEAD":
            opened.close()
            return Response(status_code=status, headers=headers)
        return _FileBody(opened, byte_range, status, headers, chunk_size, emit, client, path)

    return Starlette(routes=[Route("/{path:path}", serve_file, methods=["GET", "HEAD"])])


class _FileBody(Response):
    """Streams ``byte_range`` of ``opened``, stopping early if the client disconnects."""

    def __init__(
        self,
        opened: OpenedFile,
        byte_range: ByteRange,
        status: int,
        headers: dict[str, str],
        chunk_size: int,
        emit: EventHook,
        client: Address,
        path: str,
    ) -> None:
        # Response.__init__ would render a body; this response streams one instead.
        self.status_code = status
        self.background = None
        self.init_headers(headers)
        self._opened = opened
        self._range = byte_range
        self._chunk_size = chunk_size
        self._emit = emit
        self._client = client
        self._path = path
        self._sent = 0

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        failure = "client disconnected"
        try:
            async with anyio.create_task_group() as group:

                async def stream() -> None:
                    await self._stream(send)
                    group.cancel_scope.cancel()

                group.start_soon(stream)
                while (await receive())["type"] != "http.disconnect":
                    pass
                group.cancel_scope.cancel()
        except Exception as exc:
            failure = f"{type(exc).__name__}: {exc}"
            raise
        finally:
            self._opened.close()
            done = self._sent == self._range.stop - self._range.start
            if done:
                self._emit(
                    events.HTTP_TRANSFER_COMPLETED,
                    self._client,
                    self._path,
                    status=self.status_code,
                    bytes=self._sent,
                )
            else:
                self._emit(
                    events.HTTP_TRANSFER_FAILED,
                    self._client,
                    self._path,
                    reason=failure,
                    bytes=self._sent,
                )

    async def _stream(self, send: Send) -> None:
        await send(
            {"type": "http.response.start", "status": self.status_code, "headers": self.raw_headers}
        )
        stream = self._opened.stream
        await anyio.to_thread.run_sync(stream.seek, self._range.start)
        remaining = self._range.stop - self._range.start
        while remaining:
            chunk = await anyio.to_thread.run_sync(stream.read, min(self._chunk_size, remaining))
            if not chunk:
                # The file shrank under us: the promised length cannot be met, so fail
                # loudly and let the server drop the connection.
                raise OSError(f"{self._path!r} ended {remaining} bytes early")
            remaining -= len(chunk)
            self._sent += len(chunk)
            await send({"type": "http.response.body", "body": chunk, "more_body": remaining > 0})
        if self._sent == 0:
            await send({"type": "http.response.body", "body": b"", "more_body": False})
