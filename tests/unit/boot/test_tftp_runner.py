"""The in-loop runner: every transfer ends in one report, even cancelled early or crashed."""

from __future__ import annotations

import asyncio
import io
import socket

from metalnet.boot.sources import OpenedFile
from metalnet.boot.tftp_config import TftpConfig, TftpCounters
from metalnet.boot.tftp_runner import LocalRunner, Report
from metalnet.boot.tftp_transfer import Negotiation, Status
from tests.support.waits import until


def udp_socket() -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("127.0.0.1", 0))
    sock.connect(sock.getsockname())  # talks to itself: nobody answers
    sock.setblocking(False)
    return sock


async def test_cancelled_before_it_began() -> None:
    runner = LocalRunner(TftpConfig())
    sock, file = udp_socket(), OpenedFile.of_bytes(b"content")
    reports: list[Report] = []
    cancel = runner.run(sock, file, Negotiation(), reports.append)
    cancel()
    await runner.close()
    assert reports == [Report(Status.FAILED, "cancelled", TftpCounters())]
    assert sock.fileno() == -1
    assert file.stream.closed


async def test_a_crash_is_a_failure() -> None:
    runner = LocalRunner(TftpConfig())
    # A stream without a descriptor breaks the contract of every source.
    sock, file = udp_socket(), OpenedFile(io.BytesIO(b"content"), 7)
    reports: list[Report] = []
    runner.run(sock, file, Negotiation(), reports.append)
    await until(lambda: bool(reports))
    assert reports[0].status is Status.FAILED
    assert reports[0].reason == "internal error"
    assert sock.fileno() == -1
    await runner.close()


async def test_close_cancels_and_reports_every_transfer() -> None:
    runner = LocalRunner(TftpConfig(retransmit_timeout=5, max_retransmit_timeout=5))
    reports: list[Report] = []
    for _ in range(3):
        runner.run(udp_socket(), OpenedFile.of_bytes(b"x"), Negotiation(), reports.append)
    await asyncio.sleep(0.05)  # each sends its block
    await runner.close()
    assert [(r.status, r.reason) for r in reports] == [(Status.FAILED, "cancelled")] * 3
    assert all(r.counters.data_sent == 1 for r in reports)  # each had sent its block
