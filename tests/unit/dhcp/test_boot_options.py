"""Boot option selection: client tags, tag precedence, layers, next-server and file."""

from __future__ import annotations

import pytest

from metalnet.core.model import ExtraDhcpOpt
from metalnet.dhcp import boot_options as bo
from metalnet.wire.dhcp4.options import encode_client_arch, encode_suboptions, encode_user_class
from tests.unit.dhcp.conftest import ip, request

MAC = "52:54:00:aa:bb:01"
IPXE_175 = encode_suboptions([(19, b"\x01")])


@pytest.mark.parametrize(("options", "tags"), [
    ({}, set()),
    ({93: encode_client_arch(0)}, {"bios"}),
    ({93: encode_client_arch(7)}, {"efi-x86_64"}),
    ({93: encode_client_arch(9)}, {"efi-x86_64"}),
    ({93: encode_client_arch(11)}, {"efi-arm64"}),
    ({93: encode_client_arch(6)}, set()),  # EFI IA32: no tag of its own
    ({77: b"iPXE"}, {"ipxe"}),  # raw, as iPXE sends it
    ({77: encode_user_class([b"iPXE"])}, {"ipxe"}),  # RFC 3004
    ({77: encode_user_class([b"other", b"iPXE"])}, {"ipxe"}),
    ({77: b"gPXE"}, set()),
    ({175: IPXE_175, 93: encode_client_arch(7)}, {"ipxe", "efi-x86_64"}),
])
def test_client_tags(options: dict[int, bytes], tags: set[str]) -> None:
    assert bo.client_tags(request(MAC, 1, options=options)) == frozenset(tags)


TAGGED = bo.parse_all([
    ExtraDhcpOpt("bootfile-name", "default.0"),
    ExtraDhcpOpt("tag:bios,bootfile-name", "undionly.kpxe"),
    ExtraDhcpOpt("tag:efi-x86_64,bootfile-name", "ipxe.efi"),
    ExtraDhcpOpt("tag:ipxe,bootfile-name", "http://198.18.10.1/boot.ipxe"),
    ExtraDhcpOpt("tag:!ipxe,tftp-server", "198.18.10.2"),
])


@pytest.mark.parametrize(("tags", "bootfile"), [
    (set(), "default.0"),
    ({"bios"}, "undionly.kpxe"),
    ({"efi-x86_64"}, "ipxe.efi"),
    ({"efi-arm64"}, "default.0"),
    ({"ipxe"}, "http://198.18.10.1/boot.ipxe"),
    ({"ipxe", "bios"}, "http://198.18.10.1/boot.ipxe"),  # iPXE over architecture
    ({"ipxe", "efi-x86_64"}, "http://198.18.10.1/boot.ipxe"),
])
def test_the_most_specific_match_wins(tags: set[str], bootfile: str) -> None:
    chosen = bo.pick(TAGGED, frozenset(tags))
    assert chosen[67].value == bootfile


def test_negated_tags_match_clients_without_the_tag() -> None:
    assert bo.pick(TAGGED, frozenset({"bios"}))[66].value == "198.18.10.2"
    assert 66 not in bo.pick(TAGGED, frozenset({"ipxe"}))


def test_order_does_not_matter() -> None:
    for tags in (frozenset(), frozenset({"bios"}), frozenset({"ipxe", "bios"})):
        assert bo.pick(TAGGED, tags) == bo.pick(list(reversed(TAGGED)), tags)


def test_a_port_with_boot_options_ignores_the_fallback_boot_options() -> None:
    own = bo.parse_all([ExtraDhcpOpt("bootfile-name", "own.0"),
                        ExtraDhcpOpt("domain-name", "example.test")])
    fallback = bo.parse_all([ExtraDhcpOpt("tag:ipxe,bootfile-name", "http://x/fallback"),
                             ExtraDhcpOpt("server-ip-address", "198.18.10.9")])
    layered = bo.layered(own, fallback)
    assert layered == own
    chosen = bo.pick(layered, frozenset({"ipxe"}))
    assert chosen[67].value == "own.0"


def test_a_port_without_boot_options_takes_only_the_fallback_boot_options() -> None:
    own = bo.parse_all([ExtraDhcpOpt("domain-name", "example.test")])
    fallback = bo.parse_all([ExtraDhcpOpt("bootfile-name", "set.0"),
                             ExtraDhcpOpt("domain-name", "fallback.test"),
                             ExtraDhcpOpt("server-ip-address", "198.18.10.9")])
    chosen = bo.pick(bo.layered(own, fallback), frozenset())
    assert chosen[67].value == "set.0"
    assert chosen[15].value == "example.test"  # non-boot options stay the port's
    assert bo.BootReply.build(chosen).siaddr == ip("198.18.10.9")


def test_ipv6_entries_and_unparseable_ones_are_skipped() -> None:
    parsed = bo.parse_all([ExtraDhcpOpt("bootfile-name", "v6.efi", ip_version=6),
                           ExtraDhcpOpt("no-such-option", "x"),
                           ExtraDhcpOpt("bootfile-name", "v4.0")])
    assert [p.value for p in parsed] == ["v4.0"]


@pytest.mark.parametrize(("opts", "siaddr"), [
    ([("server-ip-address", "198.18.10.1"), ("tftp-server-address", "198.18.10.2"),
      ("tftp-server", "198.18.10.3")], "198.18.10.1"),
    ([("tftp-server-address", "198.18.10.2"), ("tftp-server", "198.18.10.3")], "198.18.10.2"),
    ([("tftp-server", "198.18.10.3")], "198.18.10.3"),
    ([("tftp-server", "tftp.example.test")], None),
    ([], None),
])
def test_next_server(opts: list[tuple[str, str]], siaddr: str | None) -> None:
    chosen = bo.pick(bo.parse_all([ExtraDhcpOpt(n, v) for n, v in opts]), frozenset())
    reply = bo.BootReply.build(chosen)
    assert reply.siaddr == (ip(siaddr) if siaddr else 0)
    assert 255 not in reply.options  # server-ip-address is siaddr, not an option


def test_the_file_field_holds_the_bootfile_only_when_it_fits() -> None:
    short = bo.BootReply.build(bo.pick(bo.parse_all([ExtraDhcpOpt("bootfile-name", "a" * 127)]),
                                       frozenset()))
    assert short.file == b"a" * 127
    long = bo.BootReply.build(bo.pick(bo.parse_all([ExtraDhcpOpt("bootfile-name", "a" * 128)]),
                                      frozenset()))
    assert long.file == b"" and long.options[67] == b"a" * 128
