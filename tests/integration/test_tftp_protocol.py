"""The TFTP server on loopback, driven by a Python client: refusals, options, OVMF, loss, limits.

The tests marked ``WORKER_MODES`` run with transfers in the listener's loop and in workers.
"""

from __future__ import annotations

import os

import pytest

from metalnet.boot import events
from metalnet.boot.sources import Overlay, RenderedSource, StaticRoot
from metalnet.boot.tftp_config import TftpConfig
from metalnet.boot.tftp_server import TftpServer
from metalnet.wire.tftp.packet import ACK, DATA, ERROR, OACK, RRQ, WRQ, ErrorCode, Mode, Packet
from tests.integration.boot_fixtures import (
    WORKER_MODES,
    BootTree,
    EventLog,
    TftpClient,
    raw_request,
    tftp_server,
)
from tests.support.waits import until

pytestmark = pytest.mark.integration


@WORKER_MODES
async def test_fetch_without_options(tree: BootTree, workers: int) -> None:
    log = EventLog()
    async with tftp_server(tree.root, on_event=log, workers=workers) as server:
        client = TftpClient(server.address)
        try:
            assert await client.fetch("/sub/nested.bin") == tree.files["sub/nested.bin"]
        finally:
            client.close()
        await until(lambda: server.session_count == 0)
        counters = server.counters
        assert counters.transfers_started == counters.transfers_completed == 1
        assert counters.data_sent - counters.retransmits == 70_000 // 512 + 1
    assert log.names() == [events.TFTP_TRANSFER_STARTED, events.TFTP_TRANSFER_COMPLETED]
    assert log.events[-1][2]["retransmits"] == counters.retransmits


@WORKER_MODES
async def test_rendered_and_static_files(tree: BootTree, workers: int) -> None:
    script = b"#!ipxe\n" + bytes(range(256)) * 9  # several blocks, in memory only
    rendered = RenderedSource(lambda path: script if path == "boot.ipxe" else None)
    source = Overlay([rendered, StaticRoot(tree.root)])
    async with tftp_server(source, workers=workers) as server:
        client = TftpClient(server.address)
        try:
            assert await client.fetch("boot.ipxe", (("blksize", "1000"),)) == script
        finally:
            client.close()
        client = TftpClient(server.address)
        try:
            assert await client.fetch("big.bin", (("windowsize", "4"),)) == tree.files["big.bin"]
        finally:
            client.close()
        await until(lambda: server.counters.transfers_completed == 2)


@pytest.mark.parametrize(
    ("request_bytes", "code"),
    [
        (WRQ("small.txt").to_wire(), ErrorCode.ACCESS_VIOLATION),
        (RRQ("../secret").to_wire(), ErrorCode.ACCESS_VIOLATION),
        (RRQ("sub/../../secret").to_wire(), ErrorCode.ACCESS_VIOLATION),
        (RRQ("escape").to_wire(), ErrorCode.ACCESS_VIOLATION),
        (RRQ("sub").to_wire(), ErrorCode.ACCESS_VIOLATION),
        (RRQ("..\\secret").to_wire(), ErrorCode.ACCESS_VIOLATION),
        (RRQ("missing").to_wire(), ErrorCode.FILE_NOT_FOUND),
        # An absolute path is read relative to the root, so /etc/passwd is not there.
        (RRQ("/etc/passwd").to_wire(), ErrorCode.FILE_NOT_FOUND),
        # A NUL inside the name ends it; what follows is then a bad mode.
        (raw_request(b"small.txt", b"../secret", b"octet"), ErrorCode.ILLEGAL_OPERATION),
        (raw_request(b"small.txt", b"mail"), ErrorCode.ILLEGAL_OPERATION),
    ],
)
async def test_refused_requests(tree: BootTree, request_bytes: bytes, code: ErrorCode) -> None:
    log = EventLog()
    async with tftp_server(tree.root, on_event=log) as server:
        client = TftpClient(server.address)
        try:
            reply = await client.request(request_bytes)
        finally:
            client.close()
        assert isinstance(reply, ERROR)
        assert reply.code == code
        assert server.session_count == 0
        assert server.counters.errors_sent == 1
    assert log.names() == [events.TFTP_REQUEST_REFUSED]


@pytest.mark.parametrize(
    ("options", "oack"),
    [
        ((("blksize", "70000"),), (("blksize", "65464"),)),  # above RFC 2348: lowered
        ((("blksize", "4"), ("tsize", "0")), (("tsize", "12"),)),  # below: ignored
        ((("timeout", "0"), ("windowsize", "0"), ("tsize", "0")), (("tsize", "12"),)),
        ((("windowsize", "100000"),), (("windowsize", "64"),)),  # the configured maximum
        ((("BlkSize", "1024"), ("x-vendor", "1")), (("blksize", "1024"),)),
    ],
)
async def test_option_negotiation(
    tree: BootTree, options: tuple[tuple[str, str], ...], oack: tuple[tuple[str, str], ...]
) -> None:
    async with tftp_server(tree.root) as server:
        client = TftpClient(server.address)
        try:
            reply = await client.request(RRQ("small.txt", Mode.OCTET, options).to_wire())
            assert reply == OACK(oack)
            client.send(ACK(0).to_wire())
            assert await client.receive() == DATA(1, tree.files["small.txt"])
            client.send(ACK(1).to_wire())
        finally:
            client.close()


async def test_only_unknown_options_get_data_without_oack(tree: BootTree) -> None:
    async with tftp_server(tree.root) as server:
        client = TftpClient(server.address)
        try:
            reply = await client.request(
                RRQ("small.txt", Mode.OCTET, (("blksize", "x"), ("foo", "1"))).to_wire()
            )
            client.send(ACK(1).to_wire())
        finally:
            client.close()
        assert reply == DATA(1, tree.files["small.txt"])


@WORKER_MODES
async def test_ovmf_size_probe_then_download(tree: BootTree, workers: int) -> None:
    """OVMF asks tsize/blksize/windowsize, aborts with ERROR 8 after the OACK, then reads."""
    log = EventLog()
    options = (("tsize", "0"), ("blksize", "1468"), ("windowsize", "4"))
    async with tftp_server(tree.root, on_event=log, workers=workers) as server:
        client = TftpClient(server.address)
        try:
            reply = await client.request(RRQ("big.bin", Mode.OCTET, options).to_wire())
            assert reply == OACK(
                (
                    ("tsize", str(len(tree.files["big.bin"]))),
                    ("blksize", "1468"),
                    ("windowsize", "4"),
                )
            )
            client.send(ERROR(ErrorCode.OPTION_REFUSED, "").to_wire())
            await until(lambda: server.counters.transfers_aborted_by_client == 1)
        finally:
            client.close()
        second = TftpClient(server.address)
        try:
            data = await second.fetch("big.bin", (("blksize", "1468"), ("windowsize", "4")))
        finally:
            second.close()
        assert data == tree.files["big.bin"]
        await until(lambda: server.counters.transfers_completed == 1)
        counters = server.counters
        assert counters.transfers_aborted_by_client == 1
        assert counters.transfers_failed == 0
        assert counters.errors_received == 1
        assert counters.oacks_sent == 2
    assert log.names() == [
        events.TFTP_TRANSFER_STARTED,
        events.TFTP_TRANSFER_ABORTED,
        events.TFTP_TRANSFER_STARTED,
        events.TFTP_TRANSFER_COMPLETED,
    ]


@WORKER_MODES
@pytest.mark.parametrize("options", [(), (("blksize", "1000"), ("windowsize", "8"))])
async def test_lossy_network_still_byte_exact(
    tree: BootTree, options: tuple[tuple[str, str], ...], workers: int
) -> None:
    async with tftp_server(tree.root, workers=workers) as server:
        client = TftpClient(server.address, loss=0.1, seed=len(options))
        try:
            data = await client.fetch("sub/nested.bin", options, timeout=0.3)
        finally:
            client.close()
        assert data == tree.files["sub/nested.bin"]
        # Counted when the transfer ends: when the last ACK arrives, or the resends run out.
        await until(lambda: server.session_count == 0)
        assert server.counters.retransmits > 0


async def _first_replies(server: TftpServer, count: int) -> list[Packet]:
    """What ``count`` clients, each on its own port, get first for a read request."""
    clients = [TftpClient(server.address) for _ in range(count)]
    try:
        return [await c.request(RRQ("big.bin").to_wire()) for c in clients]
    finally:
        for c in clients:
            c.close()


@WORKER_MODES
async def test_session_limit_per_client(tree: BootTree, workers: int) -> None:
    config = TftpConfig(retransmit_timeout=1, max_sessions_per_client=2, workers=workers)
    async with tftp_server(tree.root, config) as server:
        replies = await _first_replies(server, 3)
        assert [type(r) for r in replies] == [DATA, DATA, ERROR]
        assert replies[2] == ERROR(ErrorCode.NOT_DEFINED, "too many client sessions")
        assert server.counters.drops == {"too-many-client-sessions": 1}


@WORKER_MODES
async def test_total_session_limit(tree: BootTree, workers: int) -> None:
    config = TftpConfig(retransmit_timeout=1, max_sessions=1, workers=workers)
    async with tftp_server(tree.root, config) as server:
        replies = await _first_replies(server, 2)
        assert replies[1] == ERROR(ErrorCode.NOT_DEFINED, "too many sessions")


@WORKER_MODES
async def test_a_finished_transfer_frees_its_slot(tree: BootTree, workers: int) -> None:
    config = TftpConfig(retransmit_timeout=1, max_sessions=1, workers=workers)
    async with tftp_server(tree.root, config) as server:
        for _ in range(3):
            client = TftpClient(server.address)
            try:
                assert await client.fetch("small.txt") == tree.files["small.txt"]
            finally:
                client.close()
            await until(lambda: server.session_count == 0)
        assert server.counters.transfers_completed == 3


@WORKER_MODES
async def test_idle_session_times_out(tree: BootTree, workers: int) -> None:
    log = EventLog()
    config = TftpConfig(
        retransmit_timeout=0.02, max_retransmit_timeout=0.05, max_retries=3, workers=workers
    )
    async with tftp_server(tree.root, config, on_event=log) as server:
        client = TftpClient(server.address)
        try:
            assert await client.request(RRQ("big.bin").to_wire()) == DATA(
                1, tree.files["big.bin"][:512]
            )
            await until(lambda: server.session_count == 0)
        finally:
            client.close()
        assert server.counters.transfers_failed == 1
        assert server.counters.retransmits == 3
    assert log.events[-1] == (events.TFTP_TRANSFER_FAILED, "big.bin", {"reason": "timeout"})


@WORKER_MODES
async def test_duplicate_request_is_ignored(tree: BootTree, workers: int) -> None:
    async with tftp_server(tree.root, TftpConfig(retransmit_timeout=1, workers=workers)) as server:
        client = TftpClient(server.address)
        try:
            request = RRQ("big.bin").to_wire()
            await client.request(request)
            client.sock.sendto(request, server.address)
            await until(lambda: server.counters.drops.get("duplicate-request") == 1)
            assert server.session_count == 1
        finally:
            client.close()


@WORKER_MODES
async def test_new_request_from_the_same_port_replaces_the_transfer(
    tree: BootTree, workers: int
) -> None:
    log = EventLog()
    config = TftpConfig(retransmit_timeout=1, workers=workers)
    async with tftp_server(tree.root, config, on_event=log) as server:
        client = TftpClient(server.address)
        try:
            assert await client.request(RRQ("big.bin").to_wire()) == DATA(
                1, tree.files["big.bin"][:512]
            )
            client.peer = None  # the new transfer answers from a new port
            reply = await client.request(RRQ("small.txt").to_wire())
            assert reply == DATA(1, tree.files["small.txt"])
            await until(lambda: server.counters.transfers_failed == 1)
            assert server.session_count == 1
            client.send(ACK(1).to_wire())
            await until(lambda: server.counters.transfers_completed == 1)
            assert server.session_count == 0
        finally:
            client.close()
    assert log.names() == [
        events.TFTP_TRANSFER_STARTED,
        events.TFTP_TRANSFER_STARTED,
        events.TFTP_TRANSFER_FAILED,
        events.TFTP_TRANSFER_COMPLETED,
    ]
    assert log.events[2] == (events.TFTP_TRANSFER_FAILED, "big.bin", {"reason": "cancelled"})


@WORKER_MODES
async def test_close_cancels_running_transfers(tree: BootTree, workers: int) -> None:
    log = EventLog()
    config = TftpConfig(retransmit_timeout=1, workers=workers)
    server = TftpServer(StaticRoot(tree.root), config, on_event=log)
    await server.start("127.0.0.1", 0)
    pids = server.worker_pids
    assert len(pids) == workers
    clients = [TftpClient(server.address) for _ in range(3)]
    try:
        for client in clients:
            assert isinstance(await client.request(RRQ("big.bin").to_wire()), DATA)
        assert server.session_count == 3
    finally:
        await server.close()
        for client in clients:
            client.close()
    assert server.session_count == 0
    assert server.worker_pids == []
    assert server.counters.transfers_failed == 3
    assert log.events[3:] == [(events.TFTP_TRANSFER_FAILED, "big.bin", {"reason": "cancelled"})] * 3
    for pid in pids:  # stopped and reaped
        with pytest.raises(ProcessLookupError):
            os.kill(pid, 0)


async def test_garbage_does_not_stop_the_listener(tree: BootTree) -> None:
    async with tftp_server(tree.root) as server:
        client = TftpClient(server.address)
        try:
            for junk in (b"", b"\x00", b"\x00\x04\x00\x01", b"\xff" * 100):
                client.sock.sendto(junk, server.address)
            assert await client.fetch("small.txt") == tree.files["small.txt"]
        finally:
            client.close()
        assert server.counters.drops["malformed"] == 3
        assert server.counters.drops["not-a-request"] == 1


