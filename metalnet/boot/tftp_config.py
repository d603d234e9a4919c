"""Settings and counters of the TFTP server, shared by the listener, its workers and sessions."""

from __future__ import annotations

import os
from dataclasses import dataclass, field, fields

from metalnet.wire.tftp.packet import BLKSIZE_MAX, BLKSIZE_MIN, WINDOWSIZE_MAX, WINDOWSIZE_MIN


@dataclass(frozen=True, slots=True)
class TftpConfig:
    """Limits and timers of the TFTP server; validated on construction.

    :param max_sessions: transfers running at once; further requests get ERROR 0.
    :param max_sessions_per_client: transfers at once from one client IP address.
    :param retransmit_timeout: seconds before the first resend, unless the client
        negotiates ``timeout`` (RFC 2349); doubled after each resend.
    :param max_retransmit_timeout: cap of the doubling.
    :param max_retries: resends of one packet or window before the session gives up,
        which also ends idle sessions whose client went away.
    :param max_blksize: largest block size granted (RFC 2348 lets the server lower it).
    :param max_windowsize: largest window granted (RFC 7440 lets the server lower it).
    :param workers: transfer worker processes (:mod:`metalnet.boot.tftp_workers`); 0 runs
        every transfer in the listener's process.
    """

    max_sessions: int = 512
    max_sessions_per_client: int = 8
    retransmit_timeout: float = 1.0
    max_retransmit_timeout: float = 4.0
    max_retries: int = 5
    max_blksize: int = BLKSIZE_MAX
    max_windowsize: int = 64
    workers: int = 0

    def __post_init__(self) -> None:
        if self.max_sessions < 1 or self.max_sessions_per_client < 1:
            raise ValueError("session limits must be at least 1")
        if not 0 < self.retransmit_timeout <= self.max_retransmit_timeout:
            raise ValueError("need 0 < retransmit_timeout <= max_retransmit_timeout")
        if self.max_retries < 0:
            raise ValueError("max_retries must not be negative")
        if not BLKSIZE_MIN <= self.max_blksize <= BLKSIZE_MAX:
            raise ValueError(f"max_blksize must be within {BLKSIZE_MIN}..{BLKSIZE_MAX}")
        if not WINDOWSIZE_MIN <= self.max_windowsize <= WINDOWSIZE_MAX:
            raise ValueError(f"max_windowsize must be within {WINDOWSIZE_MIN}..{WINDOWSIZE_MAX}")
        if self.workers < 0:
            raise ValueError("workers must not be negative")


def cpu_workers() -> int:
    """One worker per CPU this process may run on: the default of the servers that run."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):
        return max(1, os.cpu_count() or 1)


@dataclass(slots=True)
class TftpCounters:
    """Running totals of one server; ``drops`` counts ignored or refused packets by reason.

    A transfer counts its packets on counters of its own, added here when it ends.
    """

    requests: int = 0
    transfers_started: int = 0
    transfers_completed: int = 0
    transfers_failed: int = 0
    transfers_aborted_by_client: int = 0
    data_sent: int = 0
    bytes_sent: int = 0
    retransmits: int = 0
    oacks_sent: int = 0
    errors_sent: int = 0
    errors_received: int = 0
    drops: dict[str, int] = field(default_factory=dict)

    def drop(self, reason: str, count: int = 1) -> None:
        """Count ``count`` packets dropped or refused for ``reason``."""
        self.drops[reason] = self.drops.get(reason, 0) + count

    def add(self, other: TftpCounters) -> None:
        """Add every total of ``other`` to this one."""
        for item in fields(self):
            if item.name != "drops":
                setattr(self, item.name, getattr(self, item.name) + getattr(other, item.name))
        for reason, count in other.drops.items():
            self.drops[reason] = self.drops.get(reason, 0) + count
