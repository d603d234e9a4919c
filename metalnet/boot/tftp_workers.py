"""Transfer worker processes, seen from the listener: start them, hand them transfers.

The listener keeps every policy decision (:mod:`metalnet.boot.tftp_server`). Once
it has accepted a read, opened the file, negotiated and made the transfer's
socket, :meth:`WorkerPool.run` hands the transfer to the worker running the
fewest: the socket and the file go over the worker's socket pair as descriptors
(``SCM_RIGHTS``) with a ``start`` message (:mod:`metalnet.boot.tftp_handoff`);
rendered content already sits in a ``memfd`` (:meth:`OpenedFile.of_bytes`). The
worker (:mod:`metalnet.boot.tftp_worker`) sends the transfer's report back, and
the pool passes it to the transfer's ``finish``.

Every transfer handed over gets exactly one report: the worker's, or a failure
when its worker dies, sends something malformed, or is stopped. A worker that
dies is replaced (after a pause that grows while replacements keep dying soon);
while no worker is ready, :meth:`WorkerPool.run` declines and the listener runs
the transfer itself.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import functools
import itertools
import json
import logging
import os
import socket
import subprocess
import sys
from collections.abc import Coroutine
from dataclasses import dataclass, field
from typing import Any

from metalnet.boot import tftp_handoff as handoff
from metalnet.boot.sources import OpenedFile
from metalnet.boot.tftp_channel import Channel
from metalnet.boot.tftp_config import TftpConfig
from metalnet.boot.tftp_runner import Cancel, Finish, Report
from metalnet.boot.tftp_transfer import Negotiation, Status

log = logging.getLogger(__name__)

_READY_TIMEOUT = 10.0  # from start to the worker's ready message
_STOP_TIMEOUT = 5.0  # from closing its end to its exit, before it is killed
_KILLED_TIMEOUT = 2.0  # from the kill to its exit
_RESTART_DELAY = 0.5  # before replacing a dead worker; doubled while they die soon
_MAX_RESTART_DELAY = 30.0
_STEADY = 10.0  # a worker that lived this long resets the delay


def _worker_command(fd: int, config: TftpConfig) -> list[str]:
    """How a worker is started: the same interpreter, given its socket and the config.

    ``-P`` keeps the working directory off its import path, which is the listener's
    (see :func:`_worker_environment`).
    """
    settings = json.dumps(dataclasses.asdict(config))
    return [sys.executable, "-P", "-m", "metalnet.boot.tftp_worker", str(fd), settings]


def _worker_environment() -> dict[str, str]:
    """The listener's environment and import path, so that a worker runs the same code."""
    return {**os.environ, "PYTHONPATH": os.pathsep.join(path for path in sys.path if path)}


@dataclass(eq=False)
class _Worker:
    process: asyncio.subprocess.Process
    channel: Channel
    started: float
    ready: asyncio.Future[bool]  # True once it said so; False if it ended first
    ended: asyncio.Future[None]
    running: dict[int, Finish] = field(default_factory=dict)  # by transfer id

    @property
    def takes_transfers(self) -> bool:
        return self.ready.done() and self.ready.result() and not self.ended.done()


class WorkerPool:
    """``count`` worker processes running transfers with ``config``."""

    def __init__(self, count: int, config: TftpConfig) -> None:
        self._count = count
        self._config = config
        self._workers: list[_Worker] = []
        self._ids = itertools.count(1)
        self._tasks: set[asyncio.Task[None]] = set()
        self._restart_delay = _RESTART_DELAY
        self._closing = asyncio.Event()

    @property
    def pids(self) -> list[int]:
        """The process ids of the workers taking transfers now."""
        return [w.process.pid for w in self._workers if w.takes_transfers]

    async def start(self) -> None:
        """Start the workers and wait until each is ready; one that fails is logged and left out.

        The listener runs transfers itself while no worker is ready.
        """
        await asyncio.gather(*(self._spawn() for _ in range(self._count)))
        if not self.pids:
            log.error("tftp: no transfer worker started; transfers run in the listener")

    def run(
        self, sock: socket.socket, file: OpenedFile, negotiation: Negotiation, finish: Finish
    ) -> Cancel | None:
        """Hand the transfer to the least busy worker, which closes ``sock`` and ``file``.

        :returns: what cancels it; ``None`` when no worker could take it (the caller
            keeps ``sock`` and ``file``).
        """
        ready = [w for w in self._workers if w.takes_transfers]
        if not ready:
            return None
        worker = min(ready, key=lambda w: len(w.running))
        transfer = next(self._ids)
        try:
            message = handoff.encode_start(transfer, file.size, negotiation)
            worker.channel.send(message, (sock.fileno(), file.stream.fileno()))
        except OSError as exc:
            self._lose(worker, f"worker unreachable: {exc}")
            return None
        sock.close()
        file.close()
        worker.running[transfer] = finish
        return functools.partial(self._cancel, worker, transfer)

    async def close(self) -> None:
        """Stop every worker: each cancels and reports what it runs, then exits.

        A worker that has not exited after a few seconds is killed (by its own PID).
        On return every transfer handed over has been reported.
        """
        self._closing.set()
        await asyncio.gather(*self._tasks, return_exceptions=True)  # replacements end soon
        await asyncio.gather(*(self._stop(w) for w in list(self._workers)))
        await asyncio.gather(*self._tasks, return_exceptions=True)  # the reaping

    async def _spawn(self) -> None:
        """Start one worker and wait for its ready message (or its end)."""
        loop = asyncio.get_running_loop()
        try:
            ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        except OSError as exc:
            log.error("tftp: cannot start a transfer worker: %s", exc)
            return
        try:
            process = await asyncio.create_subprocess_exec(
                *_worker_command(theirs.fileno(), self._config),
                pass_fds=(theirs.fileno(),),
                stdin=subprocess.DEVNULL,
                env=_worker_environment(),
            )
        except OSError as exc:
            log.error("tftp: cannot start a transfer worker: %s", exc)
            ours.close()
            return
        finally:
            theirs.close()
        worker: _Worker  # the channel calls back only once the loop runs again
        channel = Channel(
            ours,
            lambda data, fds: self._on_message(worker, data, fds),
            lambda: self._lose(worker, "worker died"),
        )
        worker = _Worker(process, channel, loop.time(), loop.create_future(), loop.create_future())
        self._workers.append(worker)
        try:
            await asyncio.wait_for(asyncio.shield(worker.ready), _READY_TIMEOUT)
        except TimeoutError:
            self._lose(worker, "worker did not start", kill=True)

    def _on_message(self, worker: _Worker, data: bytes, fds: list[int]) -> None:
        try:
            message = handoff.decode(data)
        except handoff.HandoffError as exc:
            log.error("tftp: worker %d sent a malformed message (%s)", worker.process.pid, exc)
            self._lose(worker, "worker sent a malformed message", kill=True)
            return
        if isinstance(message, handoff.Ready) and not worker.ready.done():
            worker.ready.set_result(True)
        elif isinstance(message, handoff.Done):
            finish = worker.running.pop(message.transfer, None)
            if finish is not None:  # else it was failed already, when its worker was lost
                finish(message.report)
        else:
            log.error("tftp: worker %d sent %s out of turn", worker.process.pid, message)
            self._lose(worker, "worker sent a malformed message", kill=True)

    def _cancel(self, worker: _Worker, transfer: int) -> None:
        if transfer not in worker.running:  # it has ended, or its worker is lost
            return
        try:
            worker.channel.send(handoff.encode_cancel(transfer))
        except OSError as exc:
            self._lose(worker, f"worker unreachable: {exc}")

    def _lose(self, worker: _Worker, reason: str, *, kill: bool = False) -> None:
        """Fail the worker's transfers with ``reason``, reap it, and replace it if it had served."""
        if worker.ended.done():
            return
        worker.ended.set_result(None)
        self._workers.remove(worker)
        worker.channel.close()
        if not worker.ready.done():
            worker.ready.set_result(False)
            log.warning("tftp: transfer worker %d did not start: %s", worker.process.pid, reason)
        elif self._closing.is_set():
            reason = "server stopped"
        else:
            log.warning("tftp: transfer worker %d lost: %s", worker.process.pid, reason)
        running, worker.running = worker.running, {}
        for finish in running.values():
            finish(Report(Status.FAILED, reason))
        if kill:
            _kill(worker.process)
        self._background(self._reap(worker.process))
        if worker.ready.result() and not self._closing.is_set():
            self._background(self._replace(worker))

    async def _stop(self, worker: _Worker) -> None:
        worker.channel.shutdown()
        try:
            await asyncio.wait_for(asyncio.shield(worker.ended), _STOP_TIMEOUT)
        except TimeoutError:
            log.warning("tftp: transfer worker %d did not stop; killing it", worker.process.pid)
            self._lose(worker, "server stopped", kill=True)

    async def _reap(self, process: asyncio.subprocess.Process) -> None:
        try:
            await asyncio.wait_for(process.wait(), _STOP_TIMEOUT)
        except TimeoutError:
            log.warning("tftp: transfer worker %d lingers; killing it", process.pid)
            _kill(process)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(process.wait(), _KILLED_TIMEOUT)
        if process.returncode and not self._closing.is_set():
            log.warning("tftp: transfer worker %d exited with %d", process.pid, process.returncode)

    async def _replace(self, dead: _Worker) -> None:
        lived = asyncio.get_running_loop().time() - dead.started
        if lived >= _STEADY:
            self._restart_delay = _RESTART_DELAY
        delay = self._restart_delay
        self._restart_delay = min(delay * 2, _MAX_RESTART_DELAY)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._closing.wait(), delay)
        if not self._closing.is_set():
            await self._spawn()

    def _background(self, coroutine: Coroutine[Any, Any, None]) -> None:
        task = asyncio.get_running_loop().create_task(coroutine)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)


def _kill(process: asyncio.subprocess.Process) -> None:
    with contextlib.suppress(ProcessLookupError):
        process.kill()  # signals its own PID only
