"""TFTP settings and counters."""

from __future__ import annotations

import pytest

from metalnet.boot.tftp_config import TftpConfig, TftpCounters, cpu_workers


def test_counters_add_up() -> None:
    total = TftpCounters(requests=3, data_sent=5, drops={"malformed": 1})
    total.add(TftpCounters(data_sent=2, bytes_sent=10, drops={"malformed": 2, "stale-ack": 1}))
    assert total == TftpCounters(
        requests=3, data_sent=7, bytes_sent=10, drops={"malformed": 3, "stale-ack": 1}
    )


def test_workers() -> None:
    assert TftpConfig().workers == 0  # a library default: no processes unless asked
    assert cpu_workers() >= 1
    with pytest.raises(ValueError, match="workers"):
        TftpConfig(workers=-1)
