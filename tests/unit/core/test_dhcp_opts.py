"""dhcp_opts: option names, tag prefixes and value checks."""

from __future__ import annotations

import pytest

from metalnet.core.dhcp_opts import SIADDR_CODE, OptionError, lookup_option, parse_opt, split_tag


@pytest.mark.parametrize(
    ("opt_name", "expected"),
    [
        ("bootfile-name", (None, False, "bootfile-name")),
        ("tag:ipxe,bootfile-name", ("ipxe", False, "bootfile-name")),
        ("tag:!ipxe,bootfile-name", ("ipxe", True, "bootfile-name")),
        ("tag:efi-x86_64,bootfile-name", ("efi-x86_64", False, "bootfile-name")),
        ("tag:bios,67", ("bios", False, "67")),
    ],
)
def test_split_tag(opt_name, expected):
    assert split_tag(opt_name) == expected


@pytest.mark.parametrize(
    "opt_name",
    [
        "tag:ipxe",
        "tag:ipxe,",
        "tag:nosuch,bootfile-name",
        "tag:ipxe,tag:bios,bootfile-name",
        "tag:!,bootfile-name",
    ],
)
def test_split_tag_refuses_malformed_prefixes(opt_name):
    with pytest.raises(OptionError):
        split_tag(opt_name)


@pytest.mark.parametrize(
    ("name", "code"),
    [
        ("bootfile-name", 67),
        ("option:bootfile-name", 67),
        ("67", 67),
        ("BOOTFILE-NAME", 67),
        ("tftp-server-address", 150),
        ("server-ip-address", SIADDR_CODE),
        ("224", 224),
        ("255", SIADDR_CODE),
    ],
)
def test_lookup_option(name, code):
    assert lookup_option(name).code == code


@pytest.mark.parametrize("name", ["nosuch", "0", "256", "53", "82", "option:", ""])
def test_lookup_option_refuses(name):
    with pytest.raises(OptionError):
        lookup_option(name)


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("tftp-server-address", "198.18.0.1"),
        ("tftp-server-address", "198.18.0.1,198.18.0.2"),
        ("server-ip-address", "198.18.0.1"),
        ("router", "198.18.0.1"),
        ("mtu", "9000"),
        ("time-offset", "-3600"),
        ("ip-forward-enable", "false"),
        ("vendor-encap", "01:02:ff"),
        ("tag:ipxe,bootfile-name", "http://198.18.0.1/boot.ipxe"),
        ("tag:!ipxe,bootfile-name", "undionly.kpxe"),
        ("tag:efi-x86_64,bootfile-name", "ipxe.efi"),
        ("lease-time", "4294967295"),
    ],
)
def test_parse_opt_accepts(name, value):
    parsed = parse_opt(name, value)
    assert parsed.value == value


def test_parse_opt_keeps_the_tag():
    parsed = parse_opt("tag:!ipxe,bootfile-name", "undionly.kpxe")
    assert (parsed.tag, parsed.negated, parsed.code) == ("ipxe", True, 67)


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("tftp-server-address", "not-an-ip"),
        ("tftp-server-address", "198.18.0.1,bogus"),
        ("tftp-server-address", ""),
        ("tftp-server-address", "2001:db8::1"),
        ("server-ip-address", "198.18.0.300"),
        ("server-ip-address", "198.18.0.1,198.18.0.2"),
        ("mtu", "65536"),
        ("mtu", "-1"),
        ("mtu", "big"),
        ("default-ttl", "256"),
        ("time-offset", str(2**31)),
        ("ip-forward-enable", "maybe"),
        ("vendor-encap", "zz"),
        ("bootfile-name", ""),
        ("bootfile-name", "x" * 1021),
        ("nosuch", "1"),
        ("tag:nosuch,bootfile-name", "x"),
    ],
)
def test_parse_opt_refuses(name, value):
    with pytest.raises(OptionError):
        parse_opt(name, value)
