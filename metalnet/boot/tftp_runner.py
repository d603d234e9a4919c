"""Runs transfer sessions as tasks of the running event loop and reports how each ended.

The listener runs transfers with a :class:`LocalRunner` when it has no workers, and
each worker (:mod:`metalnet.boot.tftp_worker`) runs the transfers handed to it with
one too, so a transfer ends the same way wherever it ran: one :class:`Report` to
its ``finish`` callback, whether it completed, failed, crashed or was cancelled.
"""

from __future__ import annotations

import asyncio
import logging
import socket
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from metalnet.boot.sources import OpenedFile
from metalnet.boot.tftp_config import TftpConfig, TftpCounters
from metalnet.boot.tftp_session import run_session
from metalnet.boot.tftp_transfer import Negotiation, Status, Transfer

log = logging.getLogger(__name__)


@dataclass(slots=True)
class Report:
    """How one transfer ended; ``counters`` holds what it adds to the server's totals."""

    status: Status
    reason: str = ""
    counters: TftpCounters = field(default_factory=TftpCounters)


Finish = Callable[[Report], None]
"""Receives the report of a transfer, once."""

Cancel = Callable[[], object]
"""Ends a running transfer; its report says failed, "cancelled" (unless it had ended)."""


class LocalRunner:
    """Runs each transfer as a task of the running loop, waiting on a thread of its own."""

    def __init__(self, config: TftpConfig) -> None:
        self._config = config
        self._tasks: set[asyncio.Task[Transfer]] = set()
        self._threads = ThreadPoolExecutor(config.max_sessions, thread_name_prefix="tftp")

    def run(
        self, sock: socket.socket, file: OpenedFile, negotiation: Negotiation, finish: Finish
    ) -> Cancel:
        """Send ``file`` over ``sock`` (the runner closes both) and tell ``finish`` how it ended.

        :returns: what cancels the transfer.
        """
        counters = TftpCounters()
        session = run_session(sock, file, negotiation, self._config, counters, self._threads)
        task = asyncio.get_running_loop().create_task(session)
        self._tasks.add(task)

        def ended(task: asyncio.Task[Transfer]) -> None:
            self._tasks.discard(task)
            # The session closed both, unless it was cancelled before it began.
            sock.close()
            file.close()
            if task.cancelled():
                status, reason = Status.FAILED, "cancelled"
            elif task.exception() is not None:
                log.error("tftp: a transfer crashed", exc_info=task.exception())
                status, reason = Status.FAILED, "internal error"
            else:
                transfer = task.result()
                status, reason = transfer.status, transfer.reason
            finish(Report(status, reason, counters))

        task.add_done_callback(ended)
        return task.cancel

    async def close(self) -> None:
        """Cancel every running transfer; on return each has been reported."""
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        # Each task's own callback, added first, runs before gather sees the task done.
        await asyncio.gather(*tasks, return_exceptions=True)
        self._threads.shutdown()
