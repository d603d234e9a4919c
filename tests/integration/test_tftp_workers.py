"""Transfer workers on loopback: hand-off to the least busy, a worker that dies or misbehaves.

Every process signalled here is a worker the server under test started, found by its PID.
"""

from __future__ import annotations

import os
import signal
import sys
from pathlib import Path

import pytest

from metalnet.boot import events, tftp_workers
from metalnet.boot.tftp_config import TftpConfig
from metalnet.wire.tftp.packet import DATA, RRQ
from tests.integration.boot_fixtures import BootTree, EventLog, TftpClient, tftp_server
from tests.support.waits import until

pytestmark = pytest.mark.integration

STALLED = TftpConfig(retransmit_timeout=1, max_retries=20)  # transfers wait for their client


def sockets_of(pid: int) -> int:
    fds = Path(f"/proc/{pid}/fd")
    return sum(1 for fd in fds.iterdir() if os.readlink(fd).startswith("socket:"))


async def test_transfers_go_to_the_least_busy_worker(tree: BootTree) -> None:
    async with tftp_server(tree.root, STALLED, workers=2) as server:
        pids = server.worker_pids
        before = {pid: sockets_of(pid) for pid in pids}
        clients = [TftpClient(server.address) for _ in range(4)]
        try:
            for client in clients:
                assert isinstance(await client.request(RRQ("big.bin").to_wire()), DATA)
            # Each worker holds the UDP sockets of the transfers it runs.
            assert {pid: sockets_of(pid) - before[pid] for pid in pids} == dict.fromkeys(pids, 2)
            assert server.session_count == 4
        finally:
            for client in clients:
                client.close()


async def test_a_dead_worker_fails_its_transfers_and_is_replaced(tree: BootTree) -> None:
    log = EventLog()
    async with tftp_server(tree.root, STALLED, log, workers=1) as server:
        [pid] = server.worker_pids
        client = TftpClient(server.address)
        try:
            assert isinstance(await client.request(RRQ("big.bin").to_wire()), DATA)
            os.kill(pid, signal.SIGKILL)
            await until(lambda: server.session_count == 0)
        finally:
            client.close()
        assert server.counters.transfers_failed == 1
        assert log.events[-1] == (
            events.TFTP_TRANSFER_FAILED, "big.bin", {"reason": "worker died"}
        )
        await until(lambda: len(server.worker_pids) == 1)
        assert server.worker_pids != [pid]
        client = TftpClient(server.address)
        try:
            assert await client.fetch("small.txt") == tree.files["small.txt"]
        finally:
            client.close()
        await until(lambda: server.counters.transfers_completed == 1)


# Says ready, reads one hand-off, answers nonsense, then waits for the end of its socket.
NONSENSE_WORKER = """
import socket, sys
channel = socket.socket(fileno=int(sys.argv[1]))
channel.send(b'{"op":"ready"}')
socket.recv_fds(channel, 65536, 2)
channel.send(b'{"op":"done","id":"seven"}')
channel.recv(1)
"""


async def test_a_worker_that_answers_nonsense_is_replaced(
    tree: BootTree, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(
        tftp_workers,
        "_worker_command",
        lambda fd, config: [sys.executable, "-c", NONSENSE_WORKER, str(fd)],
    )
    log = EventLog()
    async with tftp_server(tree.root, STALLED, log, workers=1) as server:
        [pid] = server.worker_pids
        client = TftpClient(server.address)
        try:
            client.sock.sendto(RRQ("big.bin").to_wire(), server.address)
            await until(lambda: server.counters.transfers_failed == 1)
        finally:
            client.close()
        assert server.session_count == 0
        assert log.events[-1] == (
            events.TFTP_TRANSFER_FAILED, "big.bin", {"reason": "worker sent a malformed message"}
        )
        await until(lambda: len(server.worker_pids) == 1)
        assert server.worker_pids != [pid]


async def test_without_workers_the_listener_runs_transfers(
    tree: BootTree, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Workers that exit at once: the server still starts, and serves from its own loop."""
    monkeypatch.setattr(
        tftp_workers, "_worker_command", lambda fd, config: [sys.executable, "-c", "pass"]
    )
    async with tftp_server(tree.root, workers=2) as server:
        assert server.worker_pids == []
        client = TftpClient(server.address)
        try:
            assert await client.fetch("sub/nested.bin") == tree.files["sub/nested.bin"]
        finally:
            client.close()
        await until(lambda: server.counters.transfers_completed == 1)
