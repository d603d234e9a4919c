"""ipam.choose_addresses: pure over two callbacks, tested with an in-memory set."""

from __future__ import annotations

import ipaddress

from metalnet.core.ipam import SCAN_CHUNK, choose_addresses, pool_bounds
from metalnet.core.model import AllocationPool


def ip(text: str) -> int:
    return int(ipaddress.IPv4Address(text))


def choose(
    pools: list[tuple[str, str]],
    count: int,
    held: set[str],
    taken: set[int] | None = None,
    calls: list[tuple[int, int]] | None = None,
):
    """``choose_addresses`` over ``held``; the ranges asked of ``used`` go to ``calls``."""
    used = {ip(a) for a in held}

    def in_use(low: int, high: int) -> set[int]:
        if calls is not None:
            calls.append((low, high))
        return {a for a in used if low <= a <= high}

    def highest(low: int, high: int) -> int | None:
        inside = [a for a in used if low <= a <= high]
        return max(inside) if inside else None

    return choose_addresses([AllocationPool(s, e) for s, e in pools], count, in_use, highest, taken)


def test_empty_pool_starts_at_the_first_address():
    assert choose([("10.0.0.2", "10.0.0.10")], 3, set()) == ["10.0.0.2", "10.0.0.3", "10.0.0.4"]


def test_continues_after_the_highest_address_held():
    held = {"10.0.0.2", "10.0.0.5"}
    assert choose([("10.0.0.2", "10.0.0.10")], 2, held) == ["10.0.0.6", "10.0.0.7"]


def test_wraps_around_to_fill_gaps_once_the_tail_is_used():
    held = {"10.0.0.2", "10.0.0.4", "10.0.0.10"}
    assert choose([("10.0.0.2", "10.0.0.10")], 3, held) == ["10.0.0.3", "10.0.0.5", "10.0.0.6"]


def test_exhausted_pool_returns_fewer():
    held = {"10.0.0.2", "10.0.0.3"}
    assert choose([("10.0.0.2", "10.0.0.4")], 3, held) == ["10.0.0.4"]
    assert choose([("10.0.0.2", "10.0.0.3")], 1, held) == []


def test_multiple_pools_in_order():
    pools = [("10.0.0.2", "10.0.0.3"), ("10.0.0.20", "10.0.0.21")]
    assert choose(pools, 4, {"10.0.0.2"}) == ["10.0.0.3", "10.0.0.20", "10.0.0.21"]


def test_addresses_taken_earlier_in_the_transaction_are_skipped_and_recorded():
    taken = {ip("10.0.0.2")}
    assert choose([("10.0.0.2", "10.0.0.5")], 2, set(), taken) == ["10.0.0.3", "10.0.0.4"]
    assert taken == {ip("10.0.0.2"), ip("10.0.0.3"), ip("10.0.0.4")}


def test_never_returns_a_held_address_or_a_duplicate():
    held = {f"10.0.0.{i}" for i in range(2, 200, 3)}
    chosen = choose([("10.0.0.2", "10.0.0.254")], 500, held)
    assert len(chosen) == len(set(chosen)) == 253 - len(held)
    assert not set(chosen) & held


def test_large_pool_is_scanned_in_chunks():
    held = {"10.0.255.254"}  # the tail is used: the scan wraps to the start
    calls: list[tuple[int, int]] = []
    chosen = choose([("10.0.0.1", "10.0.255.254")], 1, held, calls=calls)
    assert chosen == ["10.0.0.1"]
    assert calls == [(ip("10.0.0.1"), ip("10.0.0.1") + SCAN_CHUNK - 1)]  # one chunk, not /16


def test_pool_bounds():
    assert pool_bounds([AllocationPool("0.0.0.1", "0.0.1.0")]) == [(1, 256)]
