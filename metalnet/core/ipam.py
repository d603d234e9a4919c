"""Address choice for ports: iterative over the allocation pools.

Like Kea's iterative allocator, it continues after the highest address already
held in a pool, so a rack registered in bulk costs one range query per batch,
and only scans for gaps once a pool's tail is used up.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable, Iterable, Iterator

from metalnet.core.model import AllocationPool

UsedInRange = Callable[[int, int], set[int]]
HighestInRange = Callable[[int, int], "int | None"]

SCAN_CHUNK = 4096


def pool_bounds(pools: Iterable[AllocationPool]) -> list[tuple[int, int]]:
    """Pools as inclusive integer ranges."""
    return [
        (int(ipaddress.IPv4Address(p.start)), int(ipaddress.IPv4Address(p.end))) for p in pools
    ]


def _free_in(low: int, high: int, used: UsedInRange, taken: set[int]) -> Iterator[int]:
    start = low
    while start <= high:
        end = min(start + SCAN_CHUNK - 1, high)
        held = used(start, end)
        for candidate in range(start, end + 1):
            if candidate not in held and candidate not in taken:
                yield candidate
        start = end + 1


def choose_addresses(
    pools: Iterable[AllocationPool],
    count: int,
    used: UsedInRange,
    highest: HighestInRange,
    taken: set[int] | None = None,
) -> list[str]:
    """Pick ``count`` free addresses from ``pools``.

    :param used: addresses already held within an inclusive range.
    :param highest: the highest address held within an inclusive range.
    :param taken: addresses chosen earlier in the same transaction.
    :returns: fewer than ``count`` addresses when the pools run out.
    """
    taken = set() if taken is None else taken
    chosen: list[str] = []
    for low, high in pool_bounds(pools):
        top = highest(low, high)
        tail_start = low if top is None else top + 1
        ranges = [(tail_start, high)] if top is None else [(tail_start, high), (low, top)]
        for start, end in ranges:
            for address in _free_in(start, end, used, taken):
                taken.add(address)
                chosen.append(str(ipaddress.IPv4Address(address)))
                if len(chosen) == count:
                    return chosen
    return chosen
