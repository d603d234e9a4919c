"""LeaseStore: journal replay and compaction, expiry, offers, exhaustion, uniqueness."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from metalnet.dhcp.leases import DECLINE_QUARANTINE, OFFER_HOLD, Lease, LeaseStore
from tests.unit.dhcp.conftest import FakeClock, ip

POOL = [(ip("198.18.10.100"), ip("198.18.10.103"))]
A, B, C, D, E = (f"52:54:00:00:00:0{n}" for n in range(1, 6))
SUBNET = "subnet-1"


def _never_held(_ip: int) -> bool:
    return False


def _store(tmp_path: Path, clock: FakeClock) -> LeaseStore:
    return LeaseStore(tmp_path / "leases.journal", clock)


def _reopen(store: LeaseStore, clock: FakeClock) -> LeaseStore:
    store.close()
    return LeaseStore(store.path, clock)


def test_a_flushed_lease_is_replayed(tmp_path: Path, clock: FakeClock) -> None:
    store = _store(tmp_path, clock)
    store.commit(ip("198.18.10.100"), A, SUBNET, 3600)
    assert store.pending == 1
    assert store.flush() == 1 and store.pending == 0
    store = _reopen(store, clock)
    lease = store.lease_of(SUBNET, A)
    assert lease is not None and lease.ip == ip("198.18.10.100")
    assert lease.expires == clock.now + 3600
    store.close()


def test_an_unflushed_lease_is_not_durable(tmp_path: Path, clock: FakeClock) -> None:
    """Group commit: durable at flush, which the server does before sending the ACK."""
    store = _store(tmp_path, clock)
    store.commit(ip("198.18.10.100"), A, SUBNET, 3600)
    crashed = LeaseStore(store.path, clock)  # what a restart after kill -9 would read
    assert crashed.lease_of(SUBNET, A) is None
    crashed.close()
    store.close()


def test_a_torn_last_line_is_skipped_and_counted(tmp_path: Path, clock: FakeClock) -> None:
    store = _store(tmp_path, clock)
    store.commit(ip("198.18.10.100"), A, SUBNET, 3600)
    store.commit(ip("198.18.10.101"), B, SUBNET, 3600)
    store.close()
    with open(store.path, "a", encoding="utf-8") as journal:
        journal.write('{"ip": 3323071076, "mac": "52:54:00:00:00:03", "sub')  # a crash
    store = LeaseStore(store.path, clock)
    assert store.torn_lines == 1
    assert {lease.mac for lease in store.leases()} == {A, B}
    store.close()


def test_replay_compacts_the_journal(tmp_path: Path, clock: FakeClock) -> None:
    store = _store(tmp_path, clock)
    for n in range(20):  # twenty renewals of one lease
        store.commit(ip("198.18.10.100"), A, SUBNET, 3600 + n)
    store.commit(ip("198.18.10.101"), B, SUBNET, 10)
    store.commit(ip("198.18.10.102"), C, SUBNET, 3600)
    store.release(ip("198.18.10.102"))
    store.close()
    assert len(store.path.read_text().splitlines()) == 23
    clock.advance(11)  # B's lease has expired
    store = LeaseStore(store.path, clock)
    lines = [json.loads(line) for line in store.path.read_text().splitlines()]
    assert lines == [{"ip": ip("198.18.10.100"), "mac": A, "subnet_id": SUBNET,
                      "expires": clock.now - 11 + 3619}]
    assert not store.path.with_suffix(".tmp").exists()
    store.close()


def test_release_survives_a_restart(tmp_path: Path, clock: FakeClock) -> None:
    store = _store(tmp_path, clock)
    store.commit(ip("198.18.10.100"), A, SUBNET, 3600)
    store.release(ip("198.18.10.100"))
    store = _reopen(store, clock)
    assert store.lease_of(SUBNET, A) is None and store.holder(ip("198.18.10.100")) is None
    store.close()


def test_leases_expire_and_their_addresses_come_back(tmp_path: Path, clock: FakeClock) -> None:
    store = _store(tmp_path, clock)
    store.commit(ip("198.18.10.100"), A, SUBNET, 60)
    assert store.offer(SUBNET, B, POOL, _never_held, ip("198.18.10.100")) == ip("198.18.10.101")
    clock.advance(60)
    assert store.lease_of(SUBNET, A) is None
    assert store.expire() == 1
    assert store.offer(SUBNET, C, POOL, _never_held, ip("198.18.10.100")) == ip("198.18.10.100")
    store.close()


def test_an_offer_is_held_for_30_seconds(tmp_path: Path, clock: FakeClock) -> None:
    store = _store(tmp_path, clock)
    first = store.offer(SUBNET, A, POOL, _never_held)
    assert first == ip("198.18.10.100")
    assert store.offer(SUBNET, A, POOL, _never_held) == first  # the same client: the same
    assert store.offer(SUBNET, B, POOL, _never_held, first) != first  # others: not that one
    assert not store.is_free(first, B) and store.is_free(first, A)
    clock.advance(OFFER_HOLD - 1)
    assert store.offered_to(SUBNET, A) == first
    clock.advance(1)
    assert store.offered_to(SUBNET, A) is None
    assert store.is_free(first, B)
    assert store.offer(SUBNET, C, POOL, _never_held, first) == first
    store.close()


def test_a_client_with_a_lease_is_offered_its_lease(tmp_path: Path, clock: FakeClock) -> None:
    store = _store(tmp_path, clock)
    store.commit(ip("198.18.10.102"), A, SUBNET, 3600)
    assert store.offer(SUBNET, A, POOL, _never_held, ip("198.18.10.100")) == ip("198.18.10.102")
    store.close()


def test_pool_exhaustion_and_port_addresses(tmp_path: Path, clock: FakeClock) -> None:
    store = _store(tmp_path, clock)

    def held(address: int) -> bool:
        return address == ip("198.18.10.101")

    got = [store.offer(SUBNET, mac, POOL, held) for mac in (A, B, C)]
    assert got == [ip("198.18.10.100"), ip("198.18.10.102"), ip("198.18.10.103")]
    assert store.offer(SUBNET, D, POOL, held) is None
    assert store.offer(SUBNET, D, [], held) is None
    store.close()


def test_decline_quarantines_until_it_expires(tmp_path: Path, clock: FakeClock) -> None:
    store = _store(tmp_path, clock)
    store.commit(ip("198.18.10.100"), A, SUBNET, 3600)
    store.decline(ip("198.18.10.100"), SUBNET)
    assert store.lease_of(SUBNET, A) is None
    holder = store.holder(ip("198.18.10.100"))
    assert holder is not None and holder.declined
    assert store.offer(SUBNET, B, POOL, _never_held, ip("198.18.10.100")) != ip("198.18.10.100")
    store = _reopen(store, clock)  # the quarantine is durable too
    assert store.holder(ip("198.18.10.100")).declined  # type: ignore[union-attr]
    clock.advance(DECLINE_QUARANTINE)
    assert store.holder(ip("198.18.10.100")) is None
    store.close()


def test_a_new_lease_of_a_client_replaces_its_old_one(tmp_path: Path, clock: FakeClock) -> None:
    store = _store(tmp_path, clock)
    store.commit(ip("198.18.10.100"), A, SUBNET, 3600)
    store.commit(ip("198.18.10.101"), A, SUBNET, 3600)
    assert store.holder(ip("198.18.10.100")) is None
    assert [lease.ip for lease in store.leases()] == [ip("198.18.10.101")]
    store = _reopen(store, clock)
    assert [lease.ip for lease in store.leases()] == [ip("198.18.10.101")]
    store.close()


_MACS = st.sampled_from([A, B, C, D, E])
_STEPS = st.lists(st.tuples(
    st.sampled_from(["offer", "commit", "release", "decline", "wait", "reopen"]),
    _MACS, st.integers(0, 4)), max_size=40)


@settings(max_examples=60, deadline=None)
@given(steps=_STEPS)
def test_never_two_macs_on_one_address(tmp_path_factory, steps) -> None:  # type: ignore[no-untyped-def]
    """Whatever the order of offers, commits (only of what is free, as the engine
    does), releases, declines, time and restarts: one address, one holder; one
    client, one lease; an offer is never of an address held by someone else."""
    clock = FakeClock()
    store = LeaseStore(tmp_path_factory.mktemp("leases") / "leases.journal", clock)
    try:
        for action, mac, n in steps:
            address = POOL[0][0] + n
            if action == "offer":
                got = store.offer(SUBNET, mac, POOL, _never_held, address)
                if got is not None:
                    holder = store.holder(got)
                    assert holder is None or holder.mac == mac
            elif action == "commit" and store.is_free(address, mac):
                store.commit(address, mac, SUBNET, 100)
            elif action == "release":
                lease = store.lease_of(SUBNET, mac)
                if lease is not None:
                    store.release(lease.ip)
            elif action == "decline":
                lease = store.lease_of(SUBNET, mac)
                if lease is not None:
                    store.decline(lease.ip, SUBNET)
            elif action == "wait":
                clock.advance(20 * n)
            elif action == "reopen":
                store.close()
                store = LeaseStore(store.path, clock)
            store.flush()
            live = list(store.leases())
            clients = [lease.mac for lease in live if not lease.declined]
            assert len(set(clients)) == len(clients)
            for client in (A, B, C, D, E):  # its lease's address is held by it, and no other
                lease = store.lease_of(SUBNET, client)
                assert lease is None or store.holder(lease.ip) == lease
    finally:
        store.close()


def test_a_renewed_lease_outlives_its_first_deadline(tmp_path: Path, clock: FakeClock) -> None:
    store = _store(tmp_path, clock)
    store.commit(ip("198.18.10.100"), A, SUBNET, 60)
    clock.advance(30)
    store.commit(ip("198.18.10.100"), A, SUBNET, 60)  # renewed: now due 60 s from here
    clock.advance(40)
    assert store.expire() == 0
    assert store.lease_of(SUBNET, A) is not None
    clock.advance(20)
    assert store.expire() == 1
    assert store.holder(ip("198.18.10.100")) is None
    store.close()


def test_an_expired_offer_taken_over_is_forgotten_for_its_first_client(
    tmp_path: Path, clock: FakeClock
) -> None:
    store = _store(tmp_path, clock)
    first = store.offer(SUBNET, A, POOL, _never_held)
    clock.advance(OFFER_HOLD)
    assert store.offer(SUBNET, B, POOL, _never_held, first) == first
    store.expire()
    assert store.offered_to(SUBNET, B) == first
    assert store.offered_to(SUBNET, A) is None
    clock.advance(OFFER_HOLD)
    store.expire()
    assert store.offered_to(SUBNET, B) is None and store.is_free(first, C)
    store.close()


def test_frequent_renewals_keep_the_expiry_queue_bounded(tmp_path: Path, clock: FakeClock) -> None:
    store = _store(tmp_path, clock)
    for _ in range(5000):
        store.commit(ip("198.18.10.100"), A, SUBNET, 3600)
        store.offer(SUBNET, B, POOL, _never_held)
        store.withdraw_offer(SUBNET, B)
        clock.advance(0.5)
    assert len(store._lease_deadlines) <= 2 * 1 + 1025
    assert len(store._offer_deadlines) <= 2 * 1 + 1025
    clock.advance(3600)
    assert store.expire() == 1
    assert not store._lease_deadlines and not store._offer_deadlines
    store.close()


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.sampled_from(["commit", "offer", "withdraw", "release", "advance", "expire"]),
            st.sampled_from([A, B, C, D, E]),
            st.integers(1, 90),
        ),
        max_size=60,
    )
)
def test_expiry_forgets_exactly_what_is_due(
    tmp_path_factory: pytest.TempPathFactory, steps: list[tuple[str, str, int]]
) -> None:
    """Whatever the history, after expire() nothing due is left and nothing live is gone."""
    clock = FakeClock()
    store = _store(tmp_path_factory.mktemp("expiry"), clock)
    for action, mac, amount in steps:
        if action == "commit":
            address = store.offer(SUBNET, mac, POOL, _never_held)
            if address is not None:
                store.commit(address, mac, SUBNET, amount)
        elif action == "offer":
            store.offer(SUBNET, mac, POOL, _never_held)
        elif action == "withdraw":
            store.withdraw_offer(SUBNET, mac)
        elif action == "release":
            lease = store.lease_of(SUBNET, mac)
            if lease is not None:
                store.release(lease.ip)
        elif action == "advance":
            clock.advance(amount)
        else:
            store.expire()
    store.expire()
    now = clock.now
    # Leases and offers are both held as (ip, mac, subnet_id, deadline).
    assert all(deadline > now for _, _, _, deadline in store._by_ip.values())
    assert all(deadline > now for _, _, _, deadline in store._offers.values())
    assert all(store._offers.get(o[0]) is o for o in store._offer_by_mac.values())
    assert all(store._offer_by_mac.get((o[2], o[1])) is o for o in store._offers.values())
    store.close()


@given(
    st.integers(0, 2**32 - 1),
    st.text(),
    st.text(),
    st.floats(min_value=0, max_value=1e12, allow_nan=False),
)
def test_a_journal_line_is_the_lease_in_json(ip_: int, mac: str, subnet: str, at: float) -> None:
    line = Lease(ip_, mac, subnet, at).journal_line()
    assert line.endswith("\n") and "\n" not in line[:-1]
    assert json.loads(line) == {"ip": ip_, "mac": mac, "subnet_id": subnet, "expires": at}
