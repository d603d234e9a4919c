"""UnknownPolicy.parse, mac.canonical_mac and ports.normalize_mac / generate_mac."""

from __future__ import annotations

import pytest

from metalnet.core.mac import canonical_mac, is_unicast
from metalnet.core.policy import MAX_DELAY_SECONDS, PolicyError, PolicyKind, UnknownPolicy
from metalnet.core.ports import generate_mac, normalize_mac
from metalnet.errors import InvalidInput


@pytest.mark.parametrize(
    ("text", "kind", "delay", "canonical"),
    [
        ("ignore", PolicyKind.IGNORE, 0, "ignore"),
        ("pool", PolicyKind.POOL, 0, "pool"),
        ("discover", PolicyKind.DISCOVER, 0, "discover"),
        ("proxy", PolicyKind.PROXY, 0, "proxy"),
        ("delay:5", PolicyKind.DELAY, 5, "delay:5"),
        (" Delay:30 ", PolicyKind.DELAY, 30, "delay:30"),
        (
            f"delay:{MAX_DELAY_SECONDS}",
            PolicyKind.DELAY,
            MAX_DELAY_SECONDS,
            f"delay:{MAX_DELAY_SECONDS}",
        ),
    ],
)
def test_policy_parse(text, kind, delay, canonical):
    policy = UnknownPolicy.parse(text)
    assert (policy.kind, policy.delay, str(policy)) == (kind, delay, canonical)


@pytest.mark.parametrize(
    "text",
    [
        "",
        "drop",
        "delay",
        "delay:",
        "delay:0",
        "delay:-1",
        "delay:x",
        f"delay:{MAX_DELAY_SECONDS + 1}",
        "pool:3",
        "ignore:",
        "delay:5:5",
    ],
)
def test_policy_parse_refuses(text):
    with pytest.raises(PolicyError):
        UnknownPolicy.parse(text)


@pytest.mark.parametrize(
    ("text", "mac"),
    [
        ("A8:BB:CC:DD:EE:FF", "a8:bb:cc:dd:ee:ff"),
        ("52-54-00-12-34-56", "52:54:00:12:34:56"),
        (" 52:54:00:12:34:56 ", "52:54:00:12:34:56"),
    ],
)
def test_normalize_mac(text, mac):
    assert normalize_mac(text) == mac


@pytest.mark.parametrize(
    "text",
    [
        "",
        "52:54:00:12:34",
        "52:54:00:12:34:56:78",
        "52:54:00-12:34:56",
        "5254.0012.3456",
        "zz:54:00:12:34:56",
        "01:00:5e:00:00:01",
        "ff:ff:ff:ff:ff:ff",
        "00:00:00:00:00:00",
        "525400123456",
    ],
)
def test_normalize_mac_refuses(text):
    with pytest.raises(InvalidInput):
        normalize_mac(text)


@pytest.mark.parametrize(
    "text",
    ["", "52:54:00:12:34", "52:54:00-12:34:56", "5254.0012.3456", "525400123456", "g2:54:00:1:2:3"],
)
def test_canonical_mac_refuses_what_is_not_a_mac(text):
    with pytest.raises(ValueError, match="not a MAC address"):
        canonical_mac(text)


def test_canonical_mac_keeps_group_addresses_and_tells_them_apart():
    """Any MAC is canonical (a sighting filter may name a multicast one); only a port's
    own MAC must be unicast."""
    assert canonical_mac("01-00-5E-00-00-01") == "01:00:5e:00:00:01"
    assert not is_unicast("01:00:5e:00:00:01")
    assert not is_unicast("00:00:00:00:00:00")
    assert is_unicast("52:54:00:12:34:56")


def test_generated_macs_are_valid_and_under_the_prefix():
    macs = {generate_mac() for _ in range(200)}
    assert all(m.startswith("fa:16:3e:") and normalize_mac(m) == m for m in macs)
    assert len(macs) > 190
