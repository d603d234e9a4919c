"""The store contract: every repository operation, run on SQLite and on PostgreSQL."""

from __future__ import annotations

import dataclasses
import ipaddress
import uuid
from datetime import UTC, datetime, timedelta, timezone

import pytest
from sqlalchemy import insert, select

from metalnet.core.boot import BootProfile
from metalnet.core.model import (
    ExtraDhcpOpt,
    Heartbeat,
    Hypervisor,
    Instance,
    InstancePort,
    Node,
    NodeMac,
)
from metalnet.core.records import from_record, to_record
from metalnet.core.repo import ListQuery
from metalnet.errors import Conflict, IpAddressInUse, MacAddressInUse
from metalnet.store import tables as t
from metalnet.store.store import Store
from tests.factories import make_network, make_port, make_subnet


def ip(text: str) -> int:
    return int(ipaddress.IPv4Address(text))


@pytest.fixture
def seeded(store_backend: Store):
    """A network with a subnet, committed."""
    network = make_network(shared=False, tags=("rack1", "prod"))
    subnet = make_subnet(network.id)
    with store_backend.unit_of_work() as uow:
        uow.networks.add_many([network])
        uow.subnets.add_many([subnet])
        uow.commit()
    return store_backend, network, subnet


def test_add_get_round_trips_every_field(seeded):
    store, network, subnet = seeded
    port = make_port(
        network.id,
        (subnet.id, "198.18.0.7"),
        (subnet.id, "198.18.0.3"),
        name="p",
        binding_profile={"local_link_information": [{"port_id": "Eth1/1"}]},
        binding_vnic_type="baremetal",
        tags=("a", "b"),
    )
    with store.unit_of_work() as uow:
        uow.ports.add_many([port])
        uow.commit()
    with store.unit_of_work(readonly=True) as uow:
        assert uow.networks.get(network.id) == network
        assert uow.subnets.get(subnet.id) == subnet
        assert uow.ports.get(port.id) == port  # fixed_ips keep their order
        assert uow.ports.get("nope") is None


def test_update_and_delete(seeded):
    store, network, subnet = seeded
    port = make_port(network.id, (subnet.id, "198.18.0.2"))
    with store.unit_of_work() as uow:
        uow.ports.add_many([port])
        uow.commit()
    moved = dataclasses.replace(
        port,
        fixed_ips=(dataclasses.replace(port.fixed_ips[0], ip_address="198.18.0.9"),),
        name="new",
    )
    with store.unit_of_work() as uow:
        uow.ports.update(moved)
        uow.networks.update(dataclasses.replace(network, mtu=9000))
        uow.commit()
    with store.unit_of_work() as uow:
        assert uow.ports.get(port.id) == moved
        assert uow.networks.get(network.id).mtu == 9000
        assert uow.ports.ips_in_use(subnet.id, 0, 2**32) == {ip("198.18.0.9")}
        uow.ports.delete(port.id)
        uow.ports.delete(port.id)  # absent: no error
        uow.commit()
    with store.unit_of_work() as uow:
        assert uow.ports.get(port.id) is None
        assert uow.ports.ips_in_use(subnet.id, 0, 2**32) == set()
        assert uow.ports.count_on_subnet(subnet.id) == 0


def test_rollback_leaves_nothing(seeded):
    store, network, subnet = seeded
    head = store.feed.head()
    with store.unit_of_work() as uow:
        uow.ports.add_many([make_port(network.id, (subnet.id, "198.18.0.2"))])
        uow.record_change("port", "x", {"a": 1})
        # no commit
    with pytest.raises(RuntimeError), store.unit_of_work() as uow:
        uow.networks.add_many([make_network()])
        raise RuntimeError
    with store.unit_of_work() as uow:
        assert uow.ports.count_on_network(network.id) == 0
        assert len(uow.networks.list(ListQuery())) == 1
    assert store.feed.head() == head


def test_counts_macs_and_addresses(seeded):
    store, network, subnet = seeded
    other = make_network()
    ports = [make_port(network.id, (subnet.id, f"198.18.0.{i}")) for i in (2, 3, 10)]
    with store.unit_of_work() as uow:
        uow.networks.add_many([other])
        uow.ports.add_many([*ports, make_port(other.id, mac_address=ports[0].mac_address)])
        uow.commit()
    with store.unit_of_work(readonly=True) as uow:
        assert uow.ports.count_on_network(network.id) == 3
        assert uow.ports.count_on_network(other.id) == 1
        assert uow.ports.count_on_subnet(subnet.id) == 3
        macs = [ports[0].mac_address, ports[2].mac_address, "02:ff:ff:ff:ff:ff"]
        assert uow.ports.macs_in_use(network.id, macs) == set(macs[:2])
        assert uow.ports.macs_in_use(network.id, []) == set()
        assert uow.ports.ips_in_use(subnet.id, ip("198.18.0.3"), ip("198.18.0.10")) == {
            ip("198.18.0.3"),
            ip("198.18.0.10"),
        }
        assert uow.ports.highest_ip_in_use(subnet.id, ip("198.18.0.2"), ip("198.18.0.9")) == ip(
            "198.18.0.3"
        )
        assert uow.ports.highest_ip_in_use(subnet.id, ip("198.18.0.11"), ip("198.18.0.254")) is None
        assert uow.ports.ips_in_use("other-subnet", 0, 2**32) == set()


def test_macs_in_use_with_many_macs(seeded):
    store, network, _ = seeded
    ports = [make_port(network.id) for _ in range(700)]
    with store.unit_of_work() as uow:
        uow.ports.add_many(ports)
        uow.commit()
    with store.unit_of_work() as uow:
        wanted = [p.mac_address for p in ports[::2]]
        assert uow.ports.macs_in_use(network.id, wanted) == set(wanted)


def test_unique_mac_per_network_is_enforced_by_the_store(seeded):
    store, network, _subnet = seeded
    first = make_port(network.id)
    with store.unit_of_work() as uow:
        uow.ports.add_many([first])
        uow.commit()
    with store.unit_of_work() as uow, pytest.raises(MacAddressInUse):
        uow.ports.add_many([make_port(network.id, mac_address=first.mac_address)])


def test_unique_address_per_subnet_is_enforced_by_the_store(seeded):
    store, network, subnet = seeded
    with store.unit_of_work() as uow:
        uow.ports.add_many([make_port(network.id, (subnet.id, "198.18.0.5"))])
        uow.commit()
    with store.unit_of_work() as uow, pytest.raises(IpAddressInUse):
        uow.ports.add_many([make_port(network.id, (subnet.id, "198.18.0.5"))])
    with store.unit_of_work() as uow:
        assert uow.ports.count_on_subnet(subnet.id) == 1


def test_for_network_is_oldest_first(seeded):
    store, network, first = seeded
    later = make_subnet(
        network.id, "198.19.0.0/24", created_at=first.created_at + timedelta(seconds=5)
    )
    with store.unit_of_work() as uow:
        uow.subnets.add_many([later])
        uow.commit()
    with store.unit_of_work() as uow:
        assert [s.id for s in uow.subnets.for_network(network.id)] == [first.id, later.id]
        assert uow.subnets.for_network("nope") == []
        uow.subnets.lock(first.id)  # no error; serialises allocation until the end


def _names(store: Store, repo: str, query: ListQuery) -> list[str]:
    with store.unit_of_work(readonly=True) as uow:
        return [item.name for item in getattr(uow, repo).list(query)]


def test_list_filters(seeded):
    store, network, subnet = seeded
    other = make_network(name="other", project_id="p2", shared=True)
    ports = [
        make_port(network.id, (subnet.id, "198.18.0.2"), name="a", device_id="d1", tags=("x",)),
        make_port(network.id, (subnet.id, "198.18.0.3"), name="b", device_id="d2", tags=("x", "y")),
        make_port(network.id, name="c", admin_state_up=False, tags=("y",)),
        make_port(other.id, name="d", project_id="p2"),
    ]
    with store.unit_of_work() as uow:
        uow.networks.add_many([other])
        uow.ports.add_many(ports)
        uow.commit()

    def names(**filters) -> list[str]:
        return sorted(_names(store, "ports", ListQuery(filters=filters)))

    assert names(name=["a", "c"]) == ["a", "c"]
    assert names(mac_address=[ports[1].mac_address]) == ["b"]
    assert names(network_id=[network.id], device_id=["d2"]) == ["b"]
    assert names(admin_state_up=[False]) == ["c"]
    assert names(**{"fixed_ips.ip_address": ["198.18.0.3", "198.18.0.2"]}) == ["a", "b"]
    assert names(**{"fixed_ips.subnet_id": [subnet.id]}) == ["a", "b"]
    assert names(tags=["x"]) == ["a", "b"]
    assert names(tags=["x,y"]) == ["b"]
    assert names(tags=["x", "y"]) == ["b"]
    assert names(**{"tags-any": ["x,y"]}) == ["a", "b", "c"]
    assert names(**{"not-tags": ["x,y"]}) == ["a", "c", "d"]
    assert names(**{"not-tags-any": ["x,y"]}) == ["d"]
    assert names(tags=["x%"]) == []  # LIKE wildcards are escaped
    assert names(name=[]) == []
    assert sorted(_names(store, "ports", ListQuery(visible_to_project="p2"))) == ["d"]
    # A shared network is visible to every project; its subnets too.
    assert sorted(_names(store, "networks", ListQuery(visible_to_project="p3"))) == ["other"]
    assert _names(store, "networks", ListQuery(filters={"physical_network": [None]})) != []


@pytest.mark.parametrize(
    "sorts", [(), (("name", True),), (("name", False),), (("mac_address", True), ("name", False))]
)
def test_keyset_pages_cover_everything_once_both_ways(seeded, sorts):
    store, network, _ = seeded
    # Duplicate names make the id tie-breaker matter.
    with store.unit_of_work() as uow:
        uow.ports.add_many([make_port(network.id, name=f"n{i % 4}") for i in range(11)])
        uow.commit()
    with store.unit_of_work(readonly=True) as uow:
        everything = [p.id for p in uow.ports.list(ListQuery(sorts=sorts))]
        pages, marker = [], None
        while True:
            page = [p.id for p in uow.ports.list(ListQuery(sorts=sorts, limit=3, marker=marker))]
            if not page:
                break
            pages.extend(page)
            marker = page[-1]
        assert pages == everything and len(set(pages)) == 11
        backwards, marker = [], everything[-1]
        backwards.append(marker)
        while True:
            page = [
                p.id
                for p in uow.ports.list(
                    ListQuery(sorts=sorts, limit=3, marker=marker, page_reverse=True)
                )
            ]
            if not page:
                break
            backwards[:0] = page
            marker = page[0]
        assert backwards == everything


def test_change_feed_orders_and_carries_bodies(seeded):
    store, network, subnet = seeded
    start = store.feed.head()
    seen: list[int] = []
    store.feed.subscribe(seen.append)
    port = make_port(network.id, (subnet.id, "198.18.0.4"))
    with store.unit_of_work() as uow:
        uow.ports.add_many([port])
        uow.record_change("port", port.id, to_record(port))
        uow.record_change("network", network.id, to_record(network))
        uow.commit()
    with store.unit_of_work() as uow:
        uow.ports.delete(port.id)
        uow.record_change("port", port.id, None)
        uow.commit()
    with store.unit_of_work() as uow:
        uow.commit()  # nothing changed: no revision, no announcement
    store.feed.unsubscribe(seen.append)
    changes = store.feed.changes_since(start)
    assert [c.kind for c in changes] == ["port", "network", "port"]
    revisions = [c.revision for c in changes]
    assert revisions == sorted(revisions) and len(set(revisions)) == 3 and revisions[0] > start
    assert changes[0].resource() == port
    assert changes[1].resource() == network
    assert changes[2].body is None and changes[2].resource() is None
    assert store.feed.head() == revisions[-1]
    assert seen == [revisions[1], revisions[2]]
    assert store.feed.changes_since(revisions[0], limit=1)[0].revision == revisions[1]
    assert store.feed.changes_since(revisions[-1]) == []


def test_compute_resources_round_trip(store_backend: Store):
    now = datetime.now(UTC).replace(microsecond=0)
    times = {"created_at": now, "updated_at": now}
    profile = BootProfile(
        id=str(uuid.uuid4()), name="deploy", project_id="ops", kernel="vmlinuz",
        initrds=("i1", "i2"), cmdline="quiet", **times,
    )
    hypervisor = Hypervisor(
        id=str(uuid.uuid4()), name="hv1", boot_address="198.18.0.2", physical_networks=("ctl",),
        dhcp_opts=(ExtraDhcpOpt("bootfile-name", "ipxe.efi"),), **times,
    )
    node = Node(
        id=str(uuid.uuid4()), name="n1", owner="hv1", boot_profile_id=profile.id,
        macs=(NodeMac("02:00:00:00:01:02", "sw1", "Eth1/2"), NodeMac("02:00:00:00:01:01")),
        **times,
    )
    instance = Instance(
        id=str(uuid.uuid4()), name="i1", project_id="p1", node_id=node.id,
        ports=(InstancePort("port-1", "net-1", "02:00:00:00:01:01", True, "ctl", "sw1",
                            "Eth1/1", 100),),
        **times,
    )
    with store_backend.unit_of_work() as uow:
        uow.boot_profiles.add_many([profile])
        uow.hypervisors.add_many([hypervisor])
        uow.nodes.add_many([node])
        uow.instances.add_many([instance])
        uow.hypervisors.beat(Heartbeat(hypervisor.id, now, 3))
        uow.hypervisors.beat(Heartbeat(hypervisor.id, now + timedelta(seconds=1), 4))
        uow.commit()
    with store_backend.unit_of_work(readonly=True) as uow:
        assert uow.boot_profiles.by_name("deploy") == profile
        assert uow.hypervisors.get(hypervisor.id) == hypervisor
        assert uow.hypervisors.heartbeats() == {
            hypervisor.id: Heartbeat(hypervisor.id, now + timedelta(seconds=1), 4)
        }
        assert uow.nodes.get(node.id) == node  # MACs keep their order
        assert uow.nodes.by_macs(["02:00:00:00:01:01", "02:ff:ff:ff:ff:ff"]) == [node]
        assert uow.instances.get(instance.id) == instance

    rewired = dataclasses.replace(node, macs=(NodeMac("02:00:00:00:01:03"),))
    with store_backend.unit_of_work() as uow:
        uow.nodes.lock(node.id)
        uow.nodes.update(rewired)
        uow.commit()
    other = Node(id=str(uuid.uuid4()), name="n2", macs=(NodeMac("02:00:00:00:01:03"),), **times)
    with store_backend.unit_of_work() as uow, pytest.raises(Conflict):
        uow.nodes.add_many([other])
    with store_backend.unit_of_work() as uow:
        assert uow.nodes.get(node.id) == rewired
        assert uow.nodes.by_macs(["02:00:00:00:01:01"]) == []
        uow.instances.delete(instance.id)
        uow.nodes.delete(node.id)
        uow.commit()
    with store_backend.unit_of_work(readonly=True) as uow:
        assert uow.nodes.get(node.id) is None
        assert uow.nodes.by_macs(["02:00:00:00:01:03"]) == []


def test_records_round_trip():
    network = make_network(tags=("a",))
    subnet = make_subnet(network.id)
    port = make_port(network.id, (subnet.id, "198.18.0.2"))
    for obj, kind in ((network, "network"), (subnet, "subnet"), (port, "port")):
        assert from_record(kind, to_record(obj)) == obj
    with pytest.raises(KeyError):
        from_record("node", {})


def test_tokens_are_stored_hashed(store_backend: Store):
    info, secret = store_backend.tokens.create("proj", is_admin=False, description="ci")
    ctx = store_backend.tokens.authenticate(secret)
    assert ctx is not None and (ctx.project_id, ctx.is_admin) == ("proj", False)
    assert store_backend.tokens.authenticate(secret + "x") is None
    with store_backend.engine.connect() as connection:
        dump = repr(connection.exec_driver_sql("SELECT * FROM tokens").fetchall())
    assert secret not in dump and "proj" in dump
    assert [t.id for t in store_backend.tokens.list()] == [info.id]
    assert store_backend.tokens.revoke(info.id) and not store_backend.tokens.revoke(info.id)
    assert store_backend.tokens.authenticate(secret) is None


def test_times_come_back_as_utc_whatever_zone_they_went_in_with(store_backend):
    """Every backend gives aware UTC datetimes back, which the API prints with a ``Z``:
    SQLite keeps no zone, PostgreSQL answers in its session's zone."""
    east = timezone(timedelta(hours=5, minutes=30))
    stored = {
        "t-east": datetime(2026, 12, 6, 15, 30, tzinfo=east),
        "t-naive": datetime(2026, 12, 6, 10, 0),  # taken as UTC
    }
    with store_backend.engine.begin() as connection:
        if connection.dialect.name == "postgresql":
            connection.exec_driver_sql("SET TIME ZONE 'America/New_York'")
        connection.execute(insert(t.tokens), [
            {"id": token_id, "token_hash": token_id, "project_id": "p", "is_admin": False,
             "description": "", "created_at": at}
            for token_id, at in stored.items()
        ])
        read = dict(connection.execute(select(t.tokens.c.id, t.tokens.c.created_at)).all())
    expected = datetime(2026, 12, 6, 10, 0, tzinfo=UTC)
    assert read == {"t-east": expected, "t-naive": expected}
    assert all(value.utcoffset() == timedelta(0) for value in read.values())


def test_latest_change_of_many_resources_at_once(store_backend):
    """One answer per resource that changed, however many ids are asked (SQLite allows
    a limited number of bound parameters per statement)."""
    changed = [str(uuid.uuid4()) for _ in range(3)]
    for resource_id in (*changed, changed[0]):  # the first changes twice
        with store_backend.unit_of_work() as uow:
            uow.record_change("network.update", resource_id, None)
            uow.commit()
    asked = [str(uuid.uuid4()) for _ in range(1_200)] + changed
    latest = store_backend.feed.latest_by_resource(asked)
    newest = {c.resource_id: c.revision for c in store_backend.feed.changes_since(0)}
    assert latest == {rid: newest[rid] for rid in changed}
    assert latest[changed[0]] > latest[changed[2]] > latest[changed[1]] > 0
