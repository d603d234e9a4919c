"""Enrollment rules: parsing, evaluation over inventory + sighting facts, names."""

from __future__ import annotations

import pytest

from metalnet.discovery.rules import (
    EnrollmentRule,
    conditions_from,
    facts,
    first_match,
    holds,
    parse_actions,
    parse_condition,
    render_name,
)
from metalnet.errors import InvalidInput

INVENTORY = {
    "boot_mode": "bios",
    "boot_mac": "52:54:00:00:00:01",
    "cpu": {"count": 8, "model": "Xeon", "architecture": "x86_64"},
    "memory": {"total_mib": 65536},
    "disks": [{"name": "sda", "size_bytes": 480_000_000_000, "serial": "S1"},
              {"name": "sdb", "size_bytes": 4_000_000_000_000, "serial": "S2"}],
    "nics": [{"name": "eth0", "mac": "52:54:00:00:00:01"},
             {"name": "eth1", "mac": "52:54:00:00:00:02"}],
    "dmi": {"vendor": "Dell Inc.", "product": "R650", "serial": "ABC 123/x"},
}
SIGHTING = {"relay_circuit_id": "72:61:63:6b:31", "relay_remote_id": None, "giaddr": "198.18.5.1"}
KNOWN = facts(INVENTORY, SIGHTING, {"id": "n1", "name": "ctl"})


def rule(name: str, priority: int, *conditions: dict[str, object], enabled: bool = True
         ) -> EnrollmentRule:
    return EnrollmentRule(id=name, name=name, priority=priority, enabled=enabled,
                          conditions=conditions_from(list(conditions)))


@pytest.mark.parametrize(("field", "op", "value", "expected"), [
    ("dmi.vendor", "eq", "dell inc.", True),
    ("dmi.vendor", "ne", "Dell Inc.", False),
    ("dmi.vendor", "contains", "dell", True),
    ("dmi.product", "matches", "^R6[0-9]0$", True),
    ("cpu.count", "ge", 8, True),
    ("cpu.count", "gt", "8", False),
    ("memory.total_mib", "lt", 1024, False),
    ("disks.size_bytes", "gt", 1_000_000_000_000, True),   # any disk
    ("disks.serial", "in", ["S9", "S2"], True),
    ("nics.mac", "eq", "52:54:00:00:00:02", True),
    ("boot_mode", "eq", "uefi", False),
    ("dmi.uuid", "exists", False, True),
    ("sighting.relay_circuit_id_text", "eq", "rack1", True),
    ("sighting.giaddr", "startswith", "198.18.5.", True),
    ("network.name", "eq", "ctl", True),
])
def test_conditions(field: str, op: str, value: object, expected: bool) -> None:
    assert holds(parse_condition({"field": field, "op": op, "value": value}), KNOWN) is expected


def test_first_match_by_priority_then_name_and_skips_disabled() -> None:
    dell = {"field": "dmi.vendor", "op": "eq", "value": "Dell Inc."}
    rules = [rule("z-late", 50, dell), rule("a-late", 50, dell),
             rule("off", 1, dell, enabled=False),
             rule("hp", 1, {"field": "dmi.vendor", "op": "eq", "value": "HP"})]
    found = first_match(rules, KNOWN)
    assert found is not None and found.name == "a-late"
    assert first_match([rule("hp", 1, {"field": "dmi.vendor", "op": "eq", "value": "HP"})],
                       KNOWN) is None
    assert first_match([rule("all", 1)], KNOWN) is not None  # no conditions: matches anything


@pytest.mark.parametrize("raw", [
    {"field": "os.name", "op": "eq", "value": "x"},           # unknown root
    {"field": "dmi.vendor", "op": "like", "value": "x"},      # unknown operator
    {"field": "cpu.count", "op": "gt", "value": "many"},      # not a number
    {"field": "dmi.vendor", "op": "matches", "value": "("},   # bad regex
    {"field": "dmi.vendor", "op": "in", "value": "x"},        # in needs a list
    {"field": "dmi.vendor", "op": "eq", "value": "x", "extra": 1},
    "dmi.vendor=x",
])
def test_bad_conditions_are_refused(raw: object) -> None:
    with pytest.raises(InvalidInput):
        parse_condition(raw)


def test_actions_parse_and_refuse() -> None:
    actions = parse_actions({"name_template": "n-{dmi.serial}", "boot_profile": "p",
                             "networks": ["ctl"], "attributes": {"rack": "r1", "u": 4}})
    assert actions.networks == ("ctl",) and actions.attributes == {"rack": "r1", "u": 4}
    for bad in ({"colour": "red"}, {"networks": "ctl"}, {"attributes": {"a": [1]}},
                {"name_template": ""}):
        with pytest.raises(InvalidInput):
            parse_actions(bad)


def test_render_name() -> None:
    assert render_name("n-{dmi.serial}", KNOWN, "abcdef0123") == "n-ABC-123-x"
    assert render_name(None, KNOWN, "abcdef0123") == "node-525400000001"
    assert render_name("{dmi.nothing}-{id}", KNOWN, "abcdef0123") == "unknown-abcdef01"
    assert render_name("///", KNOWN, "abcdef0123") == "node-abcdef01"
