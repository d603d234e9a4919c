"""The Linux bridge switch driver on a real VLAN-filtering bridge in a namespace.

Three "machines" hang off one bridge. Binding puts a port untagged into a VLAN
(its PVID) and out of the default VLAN: traffic flows between ports of one VLAN
and not across; unbinding puts it back in the default VLAN.

Kernels built without ``CONFIG_BRIDGE_VLAN_FILTERING`` refuse VLAN filtering: there
the traffic test is skipped, and the driver must report the refusal as a
:class:`SwitchError` (never silently leave the port where it was).
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator

import pytest

from metalnet.compute.switches import SwitchError, SwitchPort, load_drivers
from metalnet.compute.switches.linux_bridge import LinuxBridgeDriver
from tests.support.netns import NetnsLab, random_mac, skip_unless_netns

pytestmark = pytest.mark.integration


Lab = tuple[NetnsLab, str, list[tuple[str, str, str]], bool]


@pytest.fixture
def lab() -> Iterator[Lab]:
    """(lab, switch namespace, [(bridge port, machine namespace, address)], whether the
    kernel filters VLANs on bridges)."""
    skip_unless_netns("bridge", "ping")
    with NetnsLab() as lab:
        switch = lab.namespace("sw")
        bridge = lab.bridge(switch)
        try:
            lab.ip("link", "set", bridge, "type", "bridge", "vlan_filtering", "1",
                   namespace=switch)
            filtering = True
        except RuntimeError as exc:
            assert "not supported" in str(exc)
            filtering = False
        machines = []
        for i in range(3):
            address = f"198.18.40.{i + 1}"
            ns, iface = lab.client_on_bridge(switch, bridge, f"m{i}", random_mac())
            lab.add_address(ns, iface, f"{address}/24")
            port = _bridge_ports(switch)[-1]
            machines.append((port, ns, address))
        yield lab, switch, machines, filtering


def _bridge_ports(ns: str) -> list[str]:
    done = subprocess.run(["bridge", "-n", ns, "-j", "link", "show"], capture_output=True,
                          text=True, check=True)
    return [link["ifname"] for link in json.loads(done.stdout)]


def _vlans(ns: str, port: str) -> dict[int, set[str]]:
    done = subprocess.run(["bridge", "-n", ns, "-j", "vlan", "show", "dev", port],
                          capture_output=True, text=True, check=True)
    entries = json.loads(done.stdout) if done.stdout.strip() else []
    return {v["vlan"]: set(v.get("flags", [])) for e in entries for v in e["vlans"]}


def _pings(lab: NetnsLab, ns: str, address: str) -> bool:
    return lab.run(ns, ["ping", "-c", "1", "-W", "1", address], timeout=10).returncode == 0


def test_bind_moves_a_port_into_a_vlan_and_unbind_moves_it_back(lab: Lab) -> None:
    lab_, switch, machines, filtering = lab
    if not filtering:
        pytest.skip("this kernel has no bridge VLAN filtering (CONFIG_BRIDGE_VLAN_FILTERING)")
    (p0, ns0, _a0), (p1, _ns1, a1), (_p2, _ns2, a2) = machines
    driver = load_drivers([f"tenant:linux-bridge:{switch}"])["tenant"]
    assert _pings(lab_, ns0, a1)  # all in the default VLAN 1

    driver.bind(SwitchPort("br", p0), 100)
    driver.bind(SwitchPort("br", p1), 100)
    assert _vlans(switch, p0) == {100: {"PVID", "Egress Untagged"}}
    assert _pings(lab_, ns0, a1)  # same VLAN
    assert not _pings(lab_, ns0, a2)  # p2 is still in VLAN 1

    driver.bind(SwitchPort("br", p0), 100)  # idempotent
    driver.unbind(SwitchPort("br", p0), 100)
    assert _vlans(switch, p0) == {1: {"PVID", "Egress Untagged"}}
    assert _pings(lab_, ns0, a2)
    assert not _pings(lab_, ns0, a1)
    driver.unbind(SwitchPort("br", p0), 100)  # idempotent


def test_a_missing_port_is_a_switch_error(lab: Lab) -> None:
    _lab, switch, _machines, _filtering = lab
    with pytest.raises(SwitchError, match="nosuchport"):
        LinuxBridgeDriver(netns=switch).bind(SwitchPort(None, "nosuchport"), 100)


def test_a_refused_bind_is_a_switch_error(lab: Lab) -> None:
    _lab, switch, machines, filtering = lab
    if filtering:
        pytest.skip("this kernel filters VLANs: the refusal cannot be shown")
    port = machines[0][0]
    with pytest.raises(SwitchError, match="not supported"):
        LinuxBridgeDriver(netns=switch).bind(SwitchPort(None, port), 100)
