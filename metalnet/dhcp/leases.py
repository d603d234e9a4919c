"""Dynamic leases: in memory for the packet path, durable in an append-only journal.

Every change is appended to ``leases.journal`` (one JSON object a line) and
becomes durable at :meth:`LeaseStore.flush`, which writes and fsyncs everything
pending at once: the server calls it once per drained batch of packets, before
that batch's ACKs leave (group commit). At start the journal is replayed (a
torn last line from a crash is skipped and counted) and rewritten compactly.

Offers are not journalled: an OFFER promises nothing until the ACK. They are
held in memory for :data:`OFFER_HOLD` seconds so two clients are not offered
one address at once.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

OFFER_HOLD = 30.0
DECLINE_QUARANTINE = 3600.0


@dataclass(frozen=True, slots=True)
class Lease:
    """An address bound to a MAC on a subnet until ``expires`` (epoch seconds).

    A declined address is held as a lease with ``mac`` ``""`` until it expires.
    """

    ip: int
    mac: str
    subnet_id: str
    expires: float

    @property
    def declined(self) -> bool:
        """Whether this is a quarantined address rather than a client's lease."""
        return not self.mac

    def to_record(self) -> dict[str, object]:
        """The journal entry (``dataclasses.asdict`` is ~10x slower on the hot path)."""
        return {
            "ip": self.ip,
            "mac": self.mac,
            "subnet_id": self.subnet_id,
            "expires": self.expires,
        }


@dataclass(frozen=True, slots=True)
class _Offer:
    ip: int
    mac: str
    until: float


class LeaseStore:
    """Leases by address and by (subnet, MAC), with a journal for durability.

    :param path: the journal file; created when absent.
    :param clock: seconds since the epoch (injected for tests).
    """

    def __init__(self, path: Path, clock: Callable[[], float]) -> None:
        self.path = path
        self.clock = clock
        self.torn_lines = 0
        self._by_ip: dict[int, Lease] = {}
        self._by_mac: dict[tuple[str, str], Lease] = {}
        self._offers: dict[int, _Offer] = {}
        self._offer_by_mac: dict[tuple[str, str], _Offer] = {}
        self._cursor: dict[str, int] = {}
        self._pending: list[str] = []
        self._load()
        self._file = open(self.path, "a", encoding="utf-8")  # noqa: SIM115 - lives with the store

    # ------------------------------------------------------------------ journal

    def _load(self) -> None:
        if self.path.exists():
            with open(self.path, encoding="utf-8") as journal:
                for line in journal:
                    self._replay(line)
        self._compact()

    def _replay(self, line: str) -> None:
        try:
            entry = json.loads(line)
            if entry.get("op") == "free":
                self._drop(int(entry["ip"]))
            else:
                self._bind(
                    Lease(
                        int(entry["ip"]),
                        str(entry["mac"]),
                        str(entry["subnet_id"]),
                        float(entry["expires"]),
                    )
                )
        except (ValueError, KeyError, TypeError, AttributeError):
            self.torn_lines += 1

    def _compact(self) -> None:
        """Rewrite the journal with only the live leases (atomic rename)."""
        now = self.clock()
        temporary = self.path.with_suffix(".tmp")
        with open(temporary, "w", encoding="utf-8") as out:
            for lease in list(self._by_ip.values()):
                if lease.expires > now:
                    out.write(json.dumps(lease.to_record()) + "\n")
                else:
                    self._drop(lease.ip)
            out.flush()
            os.fsync(out.fileno())
        os.replace(temporary, self.path)
        directory = os.open(self.path.parent, os.O_RDONLY)
        try:
            os.fsync(directory)
        finally:
            os.close(directory)

    def take_pending(self) -> str:
        """The journal lines of every change since the last call (for :meth:`append`)."""
        text = "".join(self._pending)
        self._pending.clear()
        return text

    def append(self, text: str) -> None:
        """Write journal lines and fsync them (blocking; may run on another thread)."""
        self._file.write(text)
        self._file.flush()
        os.fsync(self._file.fileno())

    def flush(self) -> int:
        """Make every pending change durable now (one write, one fsync); how many."""
        count = len(self._pending)
        if count:
            self.append(self.take_pending())
        return count

    @property
    def pending(self) -> int:
        """Changes not yet durable."""
        return len(self._pending)

    def close(self) -> None:
        """Flush and close the journal."""
        self.flush()
        self._file.close()

    # ------------------------------------------------------------------ state

    def _bind(self, lease: Lease) -> None:
        self._drop(lease.ip)
        if not lease.declined:
            previous = self._by_mac.get((lease.subnet_id, lease.mac))
            if previous is not None:
                self._by_ip.pop(previous.ip, None)
            self._by_mac[(lease.subnet_id, lease.mac)] = lease
        self._by_ip[lease.ip] = lease

    def _drop(self, ip: int) -> None:
        old = self._by_ip.pop(ip, None)
        if old is not None and self._by_mac.get((old.subnet_id, old.mac)) is old:
            del self._by_mac[(old.subnet_id, old.mac)]

    def _journal(self, entry: dict[str, object]) -> None:
        self._pending.append(json.dumps(entry) + "\n")

    def lease_of(self, subnet_id: str, mac: str) -> Lease | None:
        """The client's unexpired lease on the subnet."""
        lease = self._by_mac.get((subnet_id, mac))
        return lease if lease is not None and lease.expires > self.clock() else None

    def holder(self, ip: int) -> Lease | None:
        """The unexpired lease (or quarantine) on an address."""
        lease = self._by_ip.get(ip)
        return lease if lease is not None and lease.expires > self.clock() else None

    def leases(self) -> Iterator[Lease]:
        """Every unexpired lease and quarantine."""
        now = self.clock()
        return (lease for lease in list(self._by_ip.values()) if lease.expires > now)

    def commit(self, ip: int, mac: str, subnet_id: str, duration: float) -> Lease:
        """Bind ``ip`` to ``mac``; durable at the next :meth:`flush`."""
        lease = Lease(ip, mac, subnet_id, self.clock() + duration)
        self._bind(lease)
        self.withdraw_offer(subnet_id, mac)
        self._journal(lease.to_record())
        return lease

    def release(self, ip: int) -> None:
        """Free an address (RELEASE)."""
        if ip in self._by_ip:
            self._drop(ip)
            self._journal({"op": "free", "ip": ip})

    def decline(self, ip: int, subnet_id: str) -> None:
        """Quarantine an address a client found in use (DECLINE)."""
        self.commit(ip, "", subnet_id, DECLINE_QUARANTINE)

    def expire(self) -> int:
        """Forget expired leases and offers; how many leases went."""
        now = self.clock()
        gone = [ip for ip, lease in self._by_ip.items() if lease.expires <= now]
        for ip in gone:
            self._drop(ip)
        for ip in [ip for ip, offer in self._offers.items() if offer.until <= now]:
            del self._offers[ip]
        self._offer_by_mac = {k: o for k, o in self._offer_by_mac.items() if o.until > now}
        return len(gone)

    # ------------------------------------------------------------------ offers

    def withdraw_offer(self, subnet_id: str, mac: str) -> None:
        """Forget what was offered to ``mac`` (it chose another server)."""
        offer = self._offer_by_mac.pop((subnet_id, mac), None)
        if offer is not None:
            self._offers.pop(offer.ip, None)

    def offered_to(self, subnet_id: str, mac: str) -> int | None:
        """The address currently offered to the client, if any."""
        offer = self._offer_by_mac.get((subnet_id, mac))
        return offer.ip if offer is not None and offer.until > self.clock() else None

    def is_free(self, ip: int, mac: str) -> bool:
        """Whether ``ip`` is neither leased nor offered to another client."""
        now = self.clock()
        lease = self._by_ip.get(ip)
        if lease is not None and lease.expires > now and lease.mac != mac:
            return False
        offer = self._offers.get(ip)
        return offer is None or offer.until <= now or offer.mac == mac

    def offer(
        self,
        subnet_id: str,
        mac: str,
        pools: list[tuple[int, int]],
        held_by_port: Callable[[int], bool],
        requested: int | None = None,
    ) -> int | None:
        """An address for ``mac``: its lease, its current offer, the requested
        address if free, else the next free one after the subnet's cursor.

        :param held_by_port: whether a port holds an address (never offered).
        :returns: ``None`` when the pools are exhausted.
        """
        # A port may since have taken the client's leased or offered address: then
        # the client gets a new one (its old lease goes when it takes the new).
        lease = self.lease_of(subnet_id, mac)
        if lease is not None and not held_by_port(lease.ip):
            return lease.ip
        current = self.offered_to(subnet_id, mac)
        if current is not None and not held_by_port(current):
            return current

        def usable(ip: int) -> bool:
            return (
                any(lo <= ip <= hi for lo, hi in pools)
                and not held_by_port(ip)
                and self.is_free(ip, mac)
            )

        choice = requested if requested is not None and usable(requested) else None
        if choice is None:
            choice = self._next_free(subnet_id, pools, usable)
        if choice is not None:
            self._hold_offer(subnet_id, mac, choice)
        return choice

    def _next_free(
        self, subnet_id: str, pools: list[tuple[int, int]], usable: Callable[[int], bool]
    ) -> int | None:
        if not pools:
            return None
        total = sum(hi - lo + 1 for lo, hi in pools)
        start = self._cursor.get(subnet_id, pools[0][0])
        candidate, seen = start, 0
        while seen < total:
            if not any(lo <= candidate <= hi for lo, hi in pools):
                candidate = _next_pool_start(pools, candidate)
            if usable(candidate):
                self._cursor[subnet_id] = candidate + 1
                return candidate
            candidate += 1
            seen += 1
        return None

    def _hold_offer(self, subnet_id: str, mac: str, ip: int) -> None:
        self.withdraw_offer(subnet_id, mac)
        offer = _Offer(ip, mac, self.clock() + OFFER_HOLD)
        self._offers[ip] = offer
        self._offer_by_mac[(subnet_id, mac)] = offer


def _next_pool_start(pools: list[tuple[int, int]], address: int) -> int:
    """The first pool address at or after ``address``, wrapping to the first pool."""
    for lo, hi in sorted(pools):
        if address <= hi:
            return max(lo, address)
    return min(lo for lo, _ in pools)
