"""Pipelined group commit of lease changes on a thread of its own.

The event loop decides a batch of packets, hands the batch's journal lines to
the writer and goes on deciding the next packets; the writer writes and fsyncs
everything handed to it since its last fsync in one go, then tells the loop,
which sends the ACKs that were waiting for those leases. One fsync therefore
covers every lease decided while the previous one was running, and the loop
never waits on the disk. Order is kept: the journal is appended in submission
order, and an ACK leaves only after the fsync that covers its lease.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Callable

log = logging.getLogger(__name__)

Durable = Callable[[bool], None]
"""Called on the event loop with ``True`` once the lines are durable, ``False`` if
writing them failed (the waiting ACKs must then not be sent)."""


class JournalWriter:
    """Appends text durably with ``append`` on a background thread, in order.

    :param append: writes and fsyncs one string (blocking; runs on the thread).
    :param loop: where the completion callbacks run.
    """

    def __init__(self, append: Callable[[str], None], loop: asyncio.AbstractEventLoop) -> None:
        self._append = append
        self._loop = loop
        self._queue: list[tuple[str, Durable]] = []
        self._ready = threading.Condition()
        self._closed = False
        self._thread = threading.Thread(target=self._run, name="lease-journal", daemon=True)
        self._thread.start()

    def submit(self, text: str, on_durable: Durable) -> None:
        """Queue ``text``; ``on_durable`` runs on the loop once it is on disk."""
        with self._ready:
            self._queue.append((text, on_durable))
            self._ready.notify()

    def _take(self) -> list[tuple[str, Durable]] | None:
        with self._ready:
            while not self._queue and not self._closed:
                self._ready.wait()
            batch, self._queue = self._queue, []
            return batch or None

    def _run(self) -> None:
        while (batch := self._take()) is not None:
            try:
                self._append("".join(text for text, _ in batch))
                durable = True
            except OSError:
                log.exception("lease journal write failed; %d ACKs withheld", len(batch))
                durable = False
            for _, on_durable in batch:
                try:
                    self._loop.call_soon_threadsafe(on_durable, durable)
                except RuntimeError:  # the loop is closing: nothing left to answer
                    return

    def close(self) -> None:
        """Write what is queued, then stop the thread."""
        with self._ready:
            self._closed = True
            self._ready.notify()
        self._thread.join()
