"""JournalWriter: order, group commit, failures and close."""

from __future__ import annotations

import asyncio
import threading

from metalnet.dhcp.journal import JournalWriter
from tests.support.waits import until


class Disk:
    """An ``append`` that records each write; ``hold`` keeps the next one from finishing."""

    def __init__(self, fail: bool = False) -> None:
        self.writes: list[str] = []
        self.fail = fail
        self.hold = threading.Event()
        self.hold.set()

    def __call__(self, text: str) -> None:
        self.hold.wait(10)
        if self.fail:
            raise OSError(28, "No space left on device")
        self.writes.append(text)


async def test_a_write_is_reported_durable() -> None:
    disk = Disk()
    writer = JournalWriter(disk, asyncio.get_running_loop())
    done: list[bool] = []
    writer.submit("a\n", done.append)
    await until(lambda: done == [True], timeout=5)
    assert disk.writes == ["a\n"]
    writer.close()


async def test_what_arrives_during_a_write_goes_into_the_next_in_order() -> None:
    disk = Disk()
    writer = JournalWriter(disk, asyncio.get_running_loop())
    done: list[str] = []
    disk.hold.clear()
    writer.submit("1\n", lambda ok: done.append("1"))
    await until(lambda: not writer._queue)  # the writer took "1" and is writing it
    for name in "234":
        writer.submit(f"{name}\n", lambda ok, name=name: done.append(name))
    disk.hold.set()
    await until(lambda: len(done) == 4)
    assert disk.writes == ["1\n", "2\n3\n4\n"]
    assert done == ["1", "2", "3", "4"]
    writer.close()


async def test_a_failed_write_withholds_its_acks() -> None:
    writer = JournalWriter(Disk(fail=True), asyncio.get_running_loop())
    done: list[bool] = []
    writer.submit("a\n", done.append)
    await until(lambda: bool(done))
    assert done == [False]
    writer.close()


async def test_close_writes_what_is_queued() -> None:
    disk = Disk()
    writer = JournalWriter(disk, asyncio.get_running_loop())
    disk.hold.clear()
    writer.submit("1\n", lambda ok: None)
    await until(lambda: not writer._queue)  # "1" is being written
    writer.submit("2\n", lambda ok: None)
    disk.hold.set()
    writer.close()
    assert disk.writes == ["1\n", "2\n"]
