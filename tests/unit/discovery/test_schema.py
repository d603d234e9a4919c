"""The inventory schema: bounds, MAC normalisation, consistency."""

from __future__ import annotations

import json

import pytest
from pydantic import ValidationError

from metalnet.discovery.schema import Inventory

GOOD = {"version": 1, "boot_mode": "bios", "boot_mac": "52-54-00-AA-BB-01",
        "nics": [{"name": "eth0", "mac": "52:54:00:AA:BB:01", "speed_mbps": None, "link": True}],
        "disks": [{"name": "vda", "size_bytes": 1024, "serial": "X"}]}


def test_valid_inventory_is_normalised() -> None:
    inventory = Inventory.model_validate_json(json.dumps(GOOD))
    assert inventory.boot_mac == "52:54:00:aa:bb:01"
    assert inventory.macs == ["52:54:00:aa:bb:01"]


@pytest.mark.parametrize("change", [
    {"boot_mode": "coreboot"},
    {"nics": []},
    {"nics": [{"name": "eth0", "mac": "not-a-mac"}]},
    {"boot_mac": "52:54:00:00:00:99"},                       # not one of the NICs
    {"version": 2},
    {"surprise": True},
    {"disks": [{"name": "x" * 65}]},
    {"disks": [{"name": "d", "size_bytes": -1}]},
    {"nics": [{"name": f"e{i}", "mac": "52:54:00:00:00:01"} for i in range(65)]},
])
def test_invalid_inventories(change: dict[str, object]) -> None:
    with pytest.raises(ValidationError):
        Inventory.model_validate({**GOOD, **change})
