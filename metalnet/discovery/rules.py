"""Enrollment rules: conditions on what a machine said (and how it was seen), actions
that turn it into an enrolled machine. Pure: no database, no clock.

A rule matches when it is enabled and every condition holds. Rules are tried by
``priority`` (lower first), then name; the first match wins.

Conditions look at *facts*: the inventory (``cpu.count``, ``memory.total_mib``,
``disks.size_bytes``, ``nics.mac``, ``dmi.vendor``, ``boot_mode``, ``boot_mac`` ...),
the DHCP sighting of its boot MAC (``sighting.relay_circuit_id`` and
``sighting.relay_remote_id`` as stored, hex ``aa:bb``, with ``..._text`` holding the
printable form; ``sighting.giaddr``, ``sighting.vendor_class``, ``sighting.client_arch``)
and the network it was discovered on (``network.name``, ``network.id``). A path
through a list (``disks.size_bytes``) holds when any element holds.

Operators: ``eq`` ``ne`` (strings compared case-insensitively), ``contains``,
``startswith``, ``matches`` (a regular expression, searched), ``lt`` ``le`` ``gt``
``ge`` (numbers), ``in`` (value is a list), ``exists`` (value true or false).

Actions: ``name_template`` (``{dmi.serial}``, ``{boot_mac}``, ``{mac_hex}``, ``{id}``
or any fact path; default ``node-{mac_hex}``), ``owner`` (the hypervisor that serves
the node), ``boot_profile``, ``networks`` (ports for the boot MAC; default the
network it was discovered on) and ``attributes`` (free key/values kept with it).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from metalnet.errors import InvalidInput

OPERATORS = frozenset(
    {"eq", "ne", "contains", "startswith", "matches", "lt", "le", "gt", "ge", "in", "exists"}
)
ROOTS = frozenset(
    {"version", "agent", "boot_mode", "boot_mac", "cpu", "memory", "disks", "nics", "dmi",
     "sighting", "network"}
)
DEFAULT_NAME_TEMPLATE = "node-{mac_hex}"
MAX_CONDITIONS = 32
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$")
_PATH = re.compile(r"^[a-z_][a-z0-9_]*(\.[a-z_][a-z0-9_]*)*$")
_PLACEHOLDER = re.compile(r"\{([a-z_][a-z0-9_.]*)\}")
_NOT_NAME = re.compile(r"[^A-Za-z0-9._-]+")


@dataclass(frozen=True, slots=True)
class Condition:
    """``field`` (a fact path) ``op`` ``value``."""

    field: str
    op: str
    value: Any = None


@dataclass(frozen=True, slots=True)
class Actions:
    """What enrolling does (see the module docstring)."""

    name_template: str | None = None
    owner: str | None = None
    boot_profile: str | None = None
    networks: tuple[str, ...] = ()
    attributes: Mapping[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {
            "name_template": self.name_template, "owner": self.owner,
            "boot_profile": self.boot_profile, "networks": list(self.networks),
            "attributes": dict(self.attributes),
        }


@dataclass(frozen=True, slots=True)
class EnrollmentRule:
    """A named, ordered rule: all ``conditions`` hold -> ``actions``."""

    id: str
    name: str
    priority: int = 100
    enabled: bool = True
    description: str = ""
    conditions: tuple[Condition, ...] = ()
    actions: Actions = Actions()
    created_at: datetime | None = None
    updated_at: datetime | None = None


# ---------------------------------------------------------------------- validation

def parse_condition(raw: Any) -> Condition:
    """A condition from its JSON form ``{"field", "op", "value"}``.

    :raises InvalidInput: an unknown operator or root, a bad path, value or regex.
    """
    if not isinstance(raw, Mapping) or not set(raw) <= {"field", "op", "value"}:
        raise InvalidInput(reason="a condition is {'field': PATH, 'op': OP, 'value': VALUE}")
    path, op, value = raw.get("field"), raw.get("op", "eq"), raw.get("value")
    if not isinstance(path, str) or not _PATH.match(path) or path.split(".")[0] not in ROOTS:
        raise InvalidInput(
            reason=f"condition field '{path}' must be a dotted path under "
            f"{', '.join(sorted(ROOTS))}"
        )
    if op not in OPERATORS:
        known = ", ".join(sorted(OPERATORS))
        raise InvalidInput(reason=f"condition op '{op}' is not one of {known}")
    if op == "in" and not isinstance(value, list):
        raise InvalidInput(reason="the value of 'in' is a list")
    if op in {"lt", "le", "gt", "ge"} and _number(value) is None:
        raise InvalidInput(reason=f"the value of '{op}' is a number")
    if op == "matches":
        if not isinstance(value, str):
            raise InvalidInput(reason="the value of 'matches' is a regular expression")
        try:
            re.compile(value)
        except re.error as exc:
            raise InvalidInput(reason=f"bad regular expression '{value}': {exc}") from exc
    if op == "exists" and value is None:
        value = True
    return Condition(path, op, value)


def parse_actions(raw: Any) -> Actions:
    """Actions from their JSON form.

    :raises InvalidInput: unknown keys or badly typed values.
    """
    raw = raw or {}
    allowed = {"name_template", "owner", "boot_profile", "networks", "attributes"}
    if not isinstance(raw, Mapping) or not set(raw) <= allowed:
        raise InvalidInput(reason=f"actions may set {', '.join(sorted(allowed))}")
    template = raw.get("name_template")
    if template is not None and (not isinstance(template, str) or not 0 < len(template) <= 255):
        raise InvalidInput(reason="name_template is a string of 1-255 characters")
    for key in ("owner", "boot_profile"):
        if raw.get(key) is not None and not isinstance(raw[key], str):
            raise InvalidInput(reason=f"{key} is a name or id")
    networks = raw.get("networks") or []
    if not isinstance(networks, list) or not all(isinstance(n, str) for n in networks):
        raise InvalidInput(reason="networks is a list of network names or ids")
    attributes = raw.get("attributes") or {}
    if not isinstance(attributes, Mapping) or not all(
        isinstance(k, str) and isinstance(v, str | int | float | bool)
        for k, v in attributes.items()
    ):
        raise InvalidInput(reason="attributes maps names to strings, numbers or booleans")
    return Actions(template, raw.get("owner"), raw.get("boot_profile"), tuple(networks),
                   dict(attributes))


def validated_rule(rule: EnrollmentRule) -> EnrollmentRule:
    """:raises InvalidInput: a bad name or too many conditions."""
    if not _NAME.match(rule.name):
        raise InvalidInput(reason=f"rule name '{rule.name}': 1-63 letters, digits, '.', '_' or '-'")
    if len(rule.conditions) > MAX_CONDITIONS:
        raise InvalidInput(reason=f"a rule has at most {MAX_CONDITIONS} conditions")
    return rule


# ---------------------------------------------------------------------- evaluation

def _text_of_hex(value: str | None) -> str | None:
    if not value:
        return None
    try:
        raw = bytes.fromhex(value.replace(":", ""))
    except ValueError:
        return None
    text = raw.decode("ascii", "replace")
    return text if text.isprintable() else None


def facts(
    inventory: Mapping[str, Any],
    sighting: Mapping[str, Any] | None = None,
    network: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """What conditions and name templates can refer to."""
    seen = dict(sighting or {})
    for key in ("relay_circuit_id", "relay_remote_id"):
        seen[f"{key}_text"] = _text_of_hex(seen.get(key))
    return {**inventory, "sighting": seen, "network": dict(network or {})}


def values_at(data: Any, path: str) -> list[Any]:
    """Every value at a dotted ``path``; lists on the way are expanded."""
    current = [data]
    for part in path.split("."):
        following: list[Any] = []
        for item in current:
            items = item if isinstance(item, list) else [item]
            for element in items:
                if isinstance(element, Mapping) and element.get(part) is not None:
                    following.append(element[part])
        current = following
    flat: list[Any] = []
    for item in current:
        flat.extend(item if isinstance(item, list) else [item])
    return flat


def _number(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            return None
    return None


def _same(actual: Any, expected: Any) -> bool:
    if isinstance(actual, bool) or isinstance(expected, bool):
        return str(actual).lower() == str(expected).lower()
    a, e = _number(actual), _number(expected)
    if a is not None and e is not None:
        return a == e
    return str(actual).casefold() == str(expected).casefold()


def _one(op: str, actual: Any, expected: Any) -> bool:
    if op == "eq":
        return _same(actual, expected)
    if op == "contains":
        return str(expected).casefold() in str(actual).casefold()
    if op == "startswith":
        return str(actual).casefold().startswith(str(expected).casefold())
    if op == "matches":
        return re.search(str(expected), str(actual)) is not None
    if op == "in":
        return any(_same(actual, e) for e in expected)
    a, e = _number(actual), _number(expected)
    if a is None or e is None:
        return False
    return {"lt": a < e, "le": a <= e, "gt": a > e, "ge": a >= e}[op]


def holds(condition: Condition, known: Mapping[str, Any]) -> bool:
    """Whether ``condition`` holds for the facts ``known``."""
    found = values_at(known, condition.field)
    if condition.op == "exists":
        return bool(found) == bool(condition.value)
    if condition.op == "ne":
        return not any(_same(v, condition.value) for v in found)
    return any(_one(condition.op, v, condition.value) for v in found)


def first_match(rules: Iterable[EnrollmentRule], known: Mapping[str, Any]) -> EnrollmentRule | None:
    """The first enabled rule (by priority, then name) whose conditions all hold."""
    for rule in sorted(rules, key=lambda r: (r.priority, r.name)):
        if rule.enabled and all(holds(c, known) for c in rule.conditions):
            return rule
    return None


def render_name(template: str | None, known: Mapping[str, Any], machine_id: str) -> str:
    """A node name from ``template``: placeholders filled, then made a valid name.

    ``{boot_mac}``, ``{mac_hex}`` (boot MAC without colons), ``{id}`` (the first 8
    characters of the discovered machine's id) or any fact path; a missing fact
    becomes ``unknown``.
    """
    boot_mac = str(known.get("boot_mac") or (values_at(known, "nics.mac") or [""])[0])
    extra = {"boot_mac": boot_mac, "mac_hex": boot_mac.replace(":", ""), "id": machine_id[:8]}

    def fill(match: re.Match[str]) -> str:
        key = match.group(1)
        if key in extra:
            return extra[key]
        found = values_at(known, key)
        return str(found[0]) if found else "unknown"

    name = _NOT_NAME.sub("-", _PLACEHOLDER.sub(fill, template or DEFAULT_NAME_TEMPLATE))
    name = name.strip("-._")[:63] or f"node-{machine_id[:8]}"
    return name


def rule_as_dict(rule: EnrollmentRule) -> dict[str, Any]:
    """The API form of a rule."""
    return {
        "id": rule.id, "name": rule.name, "priority": rule.priority, "enabled": rule.enabled,
        "description": rule.description,
        "conditions": [{"field": c.field, "op": c.op, "value": c.value} for c in rule.conditions],
        "actions": rule.actions.as_dict(),
    }


def conditions_from(raw: Sequence[Any]) -> tuple[Condition, ...]:
    """:raises InvalidInput: see :func:`parse_condition`."""
    if not isinstance(raw, list | tuple):
        raise InvalidInput(reason="conditions is a list")
    return tuple(parse_condition(c) for c in raw)
