"""BootService start-up: a port that cannot be bound leaves nothing behind."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from metalnet.boot.service import BootService
from metalnet.boot.tftp_config import cpu_workers
from metalnet.core.view import BootView


def free_udp_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def test_a_failed_start_releases_what_it_had_bound(tmp_path: Path) -> None:
    taken = socket.socket()
    taken.bind(("127.0.0.1", 0))
    taken.listen()
    tftp_port = free_udp_port()
    service = BootService(BootView(), tmp_path, ["127.0.0.1"], tftp_port=tftp_port,
                          http_port=taken.getsockname()[1])
    try:
        with pytest.raises(OSError):
            await service.start()
        assert service.tftp == []
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as again:
            again.bind(("127.0.0.1", tftp_port))  # the TFTP port is free again
    finally:
        taken.close()
        await service.stop()


async def test_start_and_stop(tmp_path: Path) -> None:
    service = BootService(BootView(), tmp_path, ["127.0.0.1"], tftp_port=free_udp_port(),
                          http_port=0, tftp_workers=2)
    await service.start()
    assert len(service.tftp) == 1
    assert len(service.tftp[0].worker_pids) == 2
    await service.stop()
    assert service.tftp == []


@pytest.mark.parametrize(
    ("workers", "addresses", "each"),
    [(None, 1, cpu_workers()), (8, 3, 2), (2, 3, 1), (0, 2, 0)],
)
def test_tftp_workers_are_shared_out_among_the_addresses(
    tmp_path: Path, workers: int | None, addresses: int, each: int
) -> None:
    listen = [f"127.0.0.{i + 1}" for i in range(addresses)]
    service = BootService(BootView(), tmp_path, listen, tftp_workers=workers)
    assert service.tftp_config.workers == each
