"""BootView look-ups by physical network and network follow feed changes."""

from __future__ import annotations

from datetime import timedelta

from metalnet.core.records import Change, to_record
from metalnet.core.view import BootView
from tests.factories import make_network, make_subnet


def test_networks_on_a_physical_network_oldest_first_as_changes_apply() -> None:
    first = make_network(physical_network="ctl")
    older = make_network(physical_network="ctl", created_at=first.created_at - timedelta(1))
    elsewhere = make_network(physical_network="storage")
    view = BootView()
    view.load(1, [first, elsewhere])
    assert view.networks_on("ctl") == [first]
    assert view.networks_on("nowhere") == []

    view.apply([Change(2, "network", older.id, to_record(older))])
    assert view.networks_on("ctl") == [older, first]
    view.apply([Change(3, "network", first.id, None)])
    assert view.networks_on("ctl") == [older]
    view.load(4, [elsewhere])
    assert view.networks_on("ctl") == [] and view.networks_on("storage") == [elsewhere]


def test_subnets_of_a_network_oldest_first_as_changes_apply() -> None:
    network = make_network()
    first = make_subnet(network.id)
    later = make_subnet(
        network.id, "198.19.0.0/24", created_at=first.created_at + timedelta(seconds=5)
    )
    view = BootView()
    view.load(1, [network, first])
    assert [s.subnet for s in view.subnets_of(network.id)] == [first]

    view.apply([Change(2, "subnet", later.id, to_record(later))])
    assert [s.subnet for s in view.subnets_of(network.id)] == [first, later]
    view.apply([Change(3, "subnet", first.id, None)])
    assert [s.subnet for s in view.subnets_of(network.id)] == [later]
    assert view.subnets_of("no-such-network") == []
