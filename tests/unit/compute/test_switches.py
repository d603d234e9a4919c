"""Switch driver table and the Linux bridge driver's commands."""

from __future__ import annotations

from collections.abc import Sequence

import pytest

from metalnet.compute.switches import SwitchPort, load_drivers
from metalnet.compute.switches.linux_bridge import LinuxBridgeDriver
from metalnet.errors import InvalidInput


def test_bind_makes_the_vlan_the_untagged_pvid_and_unbind_restores_the_default() -> None:
    commands: list[list[str]] = []

    def record(argv: Sequence[str]) -> None:
        commands.append(list(argv))

    driver = LinuxBridgeDriver(netns="sw", run=record)
    driver.bind(SwitchPort("br0", "swp3"), 100)
    driver.unbind(SwitchPort("br0", "swp3"), 100)
    assert commands == [
        ["bridge", "-n", "sw", "vlan", "add", "dev", "swp3", "vid", "100", "pvid", "untagged"],
        ["bridge", "-n", "sw", "vlan", "del", "dev", "swp3", "vid", "1"],
        ["bridge", "-n", "sw", "vlan", "add", "dev", "swp3", "vid", "1", "pvid", "untagged"],
        ["bridge", "-n", "sw", "vlan", "del", "dev", "swp3", "vid", "100"],
    ]


def test_drivers_come_from_physnet_kind_argument() -> None:
    drivers = load_drivers(["tenant:linux-bridge", "lab:linux-bridge:ns1"])
    assert isinstance(drivers["lab"], LinuxBridgeDriver) and drivers["lab"].netns == "ns1"
    assert drivers["tenant"].netns is None  # type: ignore[attr-defined]
    for bad in ("tenant", "tenant:cisco", ":linux-bridge"):
        with pytest.raises(InvalidInput, match="linux-bridge"):
            load_drivers([bad])
