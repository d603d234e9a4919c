"""Dynamic leases: in memory for the packet path, durable in an append-only journal.

Every change is appended to ``leases.journal`` (one JSON object a line) and
becomes durable at :meth:`LeaseStore.flush`, which writes and fsyncs everything
pending at once: the server calls it once per drained batch of packets, before
that batch's ACKs leave (group commit). At start the journal is replayed (a
torn last line from a crash is skipped and counted) and rewritten compactly.

Offers are not journalled: an OFFER promises nothing until the ACK. They are
held in memory for :data:`OFFER_HOLD` seconds so two clients are not offered
one address at once.

Expiry runs on the event loop every few seconds, so it must not cost in
proportion to the leases held (a scan of 100,000 leases and offers took 80 ms,
a stall every packet queued behind it felt). Each binding and offer pushes
``(deadline, address)`` on a heap; :meth:`LeaseStore.expire` pops only what is
due and checks it against the live entry, since a renewed lease or a new offer
leaves its old heap entry behind (dropped when it comes due, or when the heap
is rebuilt for holding too many of them).
"""

from __future__ import annotations

import functools
import heapq
import json
import os
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Final

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

    def journal_line(self) -> str:
        """The journal entry: one JSON object and a newline.

        Formatted by hand, as ``json.dumps`` of a dict costs twice as much on the
        hot path; the strings still go through the JSON encoder.
        """
        return (
            f'{{"ip": {self.ip}, "mac": {json.dumps(self.mac)}, '
            f'"subnet_id": {_json_string(self.subnet_id)}, "expires": {self.expires!r}}}\n'
        )


_json_string = functools.lru_cache(maxsize=1024)(json.dumps)
"""A subnet id as a JSON string, remembered: a few subnets hold every lease."""

_Row = tuple[int, str, str, float]
"""A lease or an offer as the store holds it: ``(ip, mac, subnet_id, deadline)``.

A plain tuple: the collector stops tracking a tuple of strings and numbers, but
not an instance of a class. 100,000 :class:`Lease` objects made every full
collection walk them, pauses of 20-60 ms on the packet path; offers pile up
alike in a flood of DISCOVERs. :class:`Lease` is made when asked for.
"""
_IP: Final = 0
_MAC: Final = 1
_SUBNET: Final = 2
_DEADLINE: Final = 3


class LeaseStore:
    """Leases by address and by (subnet, MAC), with a journal for durability.

    :param path: the journal file; created when absent.
    :param clock: seconds since the epoch (injected for tests).
    """

    def __init__(self, path: Path, clock: Callable[[], float]) -> None:
        self.path = path
        self.clock = clock
        self.torn_lines = 0
        self._by_ip: dict[int, _Row] = {}
        self._by_mac: dict[tuple[str, str], _Row] = {}
        self._offers: dict[int, _Row] = {}
        self._offer_by_mac: dict[tuple[str, str], _Row] = {}
        self._cursor: dict[str, int] = {}
        self._lease_deadlines = _Deadlines(self._by_ip)
        self._offer_deadlines = _Deadlines(self._offers)
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
                    (
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
            for row in list(self._by_ip.values()):
                if row[_DEADLINE] > now:
                    out.write(Lease(*row).journal_line())
                else:
                    self._drop(row[_IP])
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

    def _bind(self, row: _Row) -> None:
        ip, mac, subnet_id, expires = row
        self._drop(ip)
        if mac:  # a declined address has no client
            previous = self._by_mac.get((subnet_id, mac))
            if previous is not None:
                self._by_ip.pop(previous[_IP], None)
            self._by_mac[(subnet_id, mac)] = row
        self._by_ip[ip] = row
        self._lease_deadlines.push(expires, ip)

    def _drop(self, ip: int) -> None:
        old = self._by_ip.pop(ip, None)
        if old is not None and self._by_mac.get((old[_SUBNET], old[_MAC])) is old:
            del self._by_mac[(old[_SUBNET], old[_MAC])]

    def _live(self, row: _Row | None) -> Lease | None:
        return Lease(*row) if row is not None and row[_DEADLINE] > self.clock() else None

    def lease_of(self, subnet_id: str, mac: str) -> Lease | None:
        """The client's unexpired lease on the subnet."""
        return self._live(self._by_mac.get((subnet_id, mac)))

    def holder(self, ip: int) -> Lease | None:
        """The unexpired lease (or quarantine) on an address."""
        return self._live(self._by_ip.get(ip))

    def leases(self) -> Iterator[Lease]:
        """Every unexpired lease and quarantine."""
        now = self.clock()
        return (Lease(*row) for row in list(self._by_ip.values()) if row[_DEADLINE] > now)

    def commit(self, ip: int, mac: str, subnet_id: str, duration: float) -> Lease:
        """Bind ``ip`` to ``mac``; durable at the next :meth:`flush`."""
        lease = Lease(ip, mac, subnet_id, self.clock() + duration)
        self._bind((ip, mac, subnet_id, lease.expires))
        self.withdraw_offer(subnet_id, mac)
        self._pending.append(lease.journal_line())
        return lease

    def release(self, ip: int) -> None:
        """Free an address (RELEASE)."""
        if ip in self._by_ip:
            self._drop(ip)
            self._pending.append(json.dumps({"op": "free", "ip": ip}) + "\n")

    def decline(self, ip: int, subnet_id: str) -> None:
        """Quarantine an address a client found in use (DECLINE)."""
        self.commit(ip, "", subnet_id, DECLINE_QUARANTINE)

    def expire(self) -> int:
        """Forget expired leases and offers; how many leases went.

        Costs in proportion to what came due, not to what is held.
        """
        now = self.clock()
        gone = 0
        for ip in self._lease_deadlines.due(now):
            row = self._by_ip.get(ip)
            if row is not None and row[_DEADLINE] <= now:
                self._drop(ip)
                gone += 1
        for ip in self._offer_deadlines.due(now):
            offer = self._offers.get(ip)
            if offer is not None and offer[_DEADLINE] <= now:
                self._forget_offer(offer)
        return gone

    # ------------------------------------------------------------------ offers

    def withdraw_offer(self, subnet_id: str, mac: str) -> None:
        """Forget what was offered to ``mac`` (it chose another server)."""
        offer = self._offer_by_mac.get((subnet_id, mac))
        if offer is not None:
            self._forget_offer(offer)

    def _forget_offer(self, offer: _Row) -> None:
        if self._offers.get(offer[_IP]) is offer:
            del self._offers[offer[_IP]]
        key = (offer[_SUBNET], offer[_MAC])
        if self._offer_by_mac.get(key) is offer:
            del self._offer_by_mac[key]

    def offered_to(self, subnet_id: str, mac: str) -> int | None:
        """The address currently offered to the client, if any."""
        offer = self._offer_by_mac.get((subnet_id, mac))
        if offer is None or offer[_DEADLINE] <= self.clock():
            return None
        return offer[_IP]

    def is_free(self, ip: int, mac: str) -> bool:
        """Whether ``ip`` is neither leased nor offered to another client."""
        now = self.clock()
        row = self._by_ip.get(ip)
        if row is not None and row[_DEADLINE] > now and row[_MAC] != mac:
            return False
        offer = self._offers.get(ip)
        return offer is None or offer[_DEADLINE] <= now or offer[_MAC] == mac

    def offer(
        self,
        subnet_id: str,
        mac: str,
        pools: Sequence[tuple[int, int]],
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
        self, subnet_id: str, pools: Sequence[tuple[int, int]], usable: Callable[[int], bool]
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
        previous = self._offers.get(ip)  # an expired offer to another client
        if previous is not None:
            self._forget_offer(previous)
        until = self.clock() + OFFER_HOLD
        offer = (ip, mac, subnet_id, until)
        self._offers[ip] = offer
        self._offer_by_mac[(subnet_id, mac)] = offer
        self._offer_deadlines.push(until, ip)


class _Deadlines:
    """``(deadline, address)`` of every row put in ``rows``, soonest first.

    A renewed lease or a new offer leaves its old entry behind; :meth:`due` returns
    it anyway and the caller checks it against the live row. When stale entries
    outnumber the live rows (clients renewing very often, say), the heap is rebuilt
    from ``rows``, rarely enough to cost O(1) per push on average.
    """

    def __init__(self, rows: dict[int, _Row]) -> None:
        self._rows = rows
        self._heap: list[tuple[float, int]] = []

    def __len__(self) -> int:
        return len(self._heap)

    def push(self, deadline: float, ip: int) -> None:
        """Remember that ``ip``'s row (as just put in ``rows``) is due at ``deadline``."""
        if len(self._heap) > 2 * len(self._rows) + 1024:
            self._heap = [(row[_DEADLINE], address) for address, row in self._rows.items()]
            heapq.heapify(self._heap)
        heapq.heappush(self._heap, (deadline, ip))

    def due(self, now: float) -> list[int]:
        """Take out the addresses whose deadline is ``now`` or earlier."""
        heap, due = self._heap, []
        while heap and heap[0][0] <= now:
            due.append(heapq.heappop(heap)[1])
        return due


def _next_pool_start(pools: Sequence[tuple[int, int]], address: int) -> int:
    """The first pool address at or after ``address``, wrapping to the first pool."""
    for lo, hi in sorted(pools):
        if address <= hi:
            return max(lo, address)
    return min(lo for lo, _ in pools)
