"""Boot profile validation and the boot decision (``metalnet.core.boot``)."""

from __future__ import annotations

import pytest

from metalnet.core.boot import (
    MAX_SCRIPT,
    BootProfile,
    decide_boot,
    profile_from_attrs,
    validated_profile,
)
from metalnet.core.view import BootView
from metalnet.errors import InvalidInput
from tests.factories import make_network, make_port


def profile(**fields: object) -> BootProfile:
    values: dict[str, object] = {"id": "p-1", "name": "deploy", "project_id": "ops", **fields}
    return BootProfile(**values)  # type: ignore[arg-type]


def refused(**fields: object) -> str:
    with pytest.raises(InvalidInput) as caught:
        validated_profile(profile(**fields))
    return str(caught.value)


# -- exactly one kind --------------------------------------------------------------------


@pytest.mark.parametrize("fields,kind", [
    ({"kernel": "vmlinuz"}, "kernel"),
    ({"script": "#!ipxe\necho hi\n"}, "script"),
    ({"chain_url": "http://198.18.0.9/menu.ipxe"}, "chain"),
])
def test_each_kind_alone_is_accepted(fields: dict[str, str], kind: str) -> None:
    assert validated_profile(profile(**fields)).kind == kind


@pytest.mark.parametrize("fields", [
    {},
    {"kernel": "vmlinuz", "script": "#!ipxe\n"},
    {"kernel": "vmlinuz", "chain_url": "http://198.18.0.9/x"},
    {"script": "#!ipxe\n", "chain_url": "http://198.18.0.9/x"},
    {"kernel": "vmlinuz", "script": "#!ipxe\n", "chain_url": "http://198.18.0.9/x"},
])
def test_not_exactly_one_kind_is_refused(fields: dict[str, str]) -> None:
    assert "exactly one" in refused(**fields)


@pytest.mark.parametrize("fields", [
    {"script": "#!ipxe\n", "initrds": ("initrd.img",)},
    {"chain_url": "http://198.18.0.9/x", "cmdline": "quiet"},
])
def test_initrds_and_cmdline_need_a_kernel(fields: dict[str, object]) -> None:
    assert "belong with a kernel" in refused(**fields)


# -- names -------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["a", "deploy-2024.1_x", "A" * 63, "0day"])
def test_good_names(name: str) -> None:
    assert validated_profile(profile(name=name, kernel="k")).name == name


@pytest.mark.parametrize("name", ["", "A" * 64, "-lead", ".hidden", "has space", "a/b",
                                  "ünï", "a\nb"])
def test_bad_names(name: str) -> None:
    assert "boot profile name" in refused(name=name, kernel="k")


# -- paths and URLs ----------------------------------------------------------------------


@pytest.mark.parametrize("given,stored", [
    ("vmlinuz", "vmlinuz"),
    ("images/debian/vmlinuz", "images/debian/vmlinuz"),
    ("images/vmlinuz/", "images/vmlinuz"),
    ("http://198.18.0.9/vmlinuz", "http://198.18.0.9/vmlinuz"),
    ("https://198.18.0.9:8443/a/b?c=d", "https://198.18.0.9:8443/a/b?c=d"),
])
def test_kernel_paths_are_normalised_and_urls_kept(given: str, stored: str) -> None:
    assert validated_profile(profile(kernel=given)).kernel == stored


def test_a_leading_slash_means_the_top_of_the_boot_directory() -> None:
    # As for TFTP and HTTP requests (metalnet.boot.sources): "/x" is the boot
    # directory's x, so an "absolute" path is confined, never a host path.
    assert validated_profile(profile(kernel="/images/vmlinuz")).kernel == "images/vmlinuz"
    assert validated_profile(profile(kernel="/etc/passwd")).kernel == "etc/passwd"


@pytest.mark.parametrize("path", [
    "../vmlinuz", "images/../../vmlinuz", "images/..", "..", "./vmlinuz", "a//b", "",
    "/", "vm\x00linuz", "images\\vmlinuz", "..\\..\\x",
    "ftp://198.18.0.9/vmlinuz", "file:///etc/passwd", "tftp://198.18.0.9/k",
    "http://198.18.0.9/has space", "HTTP//x",
])
def test_bad_kernel_and_initrd_paths_are_refused(path: str) -> None:
    assert "inside the boot directory or an http(s) URL" in refused(kernel=path)
    assert "initrd" in refused(kernel="vmlinuz", initrds=("initrd.img", path))


def test_initrds_are_normalised_in_order() -> None:
    checked = validated_profile(profile(kernel="k", initrds=("/b/i1", "a/i2/", "http://h/i3")))
    assert checked.initrds == ("b/i1", "a/i2", "http://h/i3")


@pytest.mark.parametrize("url", [
    "ftp://198.18.0.9/x", "198.18.0.9/x", "http://", "http://a b", "javascript:alert(1)", "",
])
def test_chain_url_must_be_http(url: str) -> None:
    assert "chain_url" in refused(chain_url=url)


@pytest.mark.parametrize("fields", [
    {"chain_url": "http://198.18.0.9/x\n"},
    {"kernel": "http://198.18.0.9/vmlinuz\n"},
    {"name": "deploy\n", "kernel": "vmlinuz"},
])
def test_a_trailing_newline_is_refused(fields: dict[str, str]) -> None:
    refused(**fields)


@pytest.mark.parametrize("path", ["vmlinuz\n", "vm linuz", "vm\rlinuz", "vm\tlinuz"])
def test_paths_with_whitespace_are_refused(path: str) -> None:
    refused(kernel=path)


# -- scripts and sizes -------------------------------------------------------------------


@pytest.mark.parametrize("script", ["echo hi", "", "#!/bin/sh\n", " #!ipxe\n", "#!IPXE\n"])
def test_script_must_start_with_the_ipxe_magic(script: str) -> None:
    assert "#!ipxe" in refused(script=script)


def test_script_size_limit() -> None:
    head = "#!ipxe\n"
    largest = head + "#" * (MAX_SCRIPT - len(head))
    assert validated_profile(profile(script=largest)).script == largest
    assert "64 KiB" in refused(script=largest + "#")


def test_cmdline_is_one_line_of_at_most_4096() -> None:
    assert validated_profile(profile(kernel="k", cmdline="x" * 4096)).cmdline == "x" * 4096
    assert "cmdline" in refused(kernel="k", cmdline="x" * 4097)
    assert "cmdline" in refused(kernel="k", cmdline="quiet\nchain http://198.18.0.9/evil")


# -- attribute changes -------------------------------------------------------------------


def test_profile_from_attrs_applies_and_validates() -> None:
    base = validated_profile(profile(kernel="k"))
    changed = profile_from_attrs({"initrds": ["/i1", "i2"], "cmdline": "quiet"}, base)
    assert changed.initrds == ("i1", "i2") and changed.cmdline == "quiet"
    with pytest.raises(InvalidInput):
        profile_from_attrs({"script": "#!ipxe\n"}, base)  # now two kinds


# -- the boot decision -------------------------------------------------------------------


def test_decide_boot() -> None:
    network = make_network()
    kernel = validated_profile(profile(id="prof", kernel="vmlinuz"))
    with_profile = make_port(network.id, mac_address="52:54:00:00:00:01", boot_profile_id="prof")
    without = make_port(network.id, mac_address="52:54:00:00:00:02")
    dangling = make_port(network.id, mac_address="52:54:00:00:00:03", boot_profile_id="gone")
    view = BootView()
    view.load(1, [network, with_profile, without, dangling, kernel])

    assert decide_boot(view, "52:54:00:00:00:01").profile == kernel
    assert decide_boot(view, "52:54:00:00:00:01") == decide_boot(view, "52:54:00:00:00:01")
    spec = decide_boot(view, "52:54:00:00:00:02")
    assert spec.profile is None and spec.reason == "no boot profile assigned"
    spec = decide_boot(view, "52:54:00:00:00:03")
    assert spec.profile is None and "gone" in spec.reason
    spec = decide_boot(view, "52:54:00:00:00:09")
    assert spec.profile is None and spec.reason == "unknown machine"


def test_decide_boot_takes_the_port_with_a_profile_among_networks() -> None:
    first, second = make_network(), make_network()
    kernel = validated_profile(profile(id="prof", kernel="vmlinuz"))
    mac = "52:54:00:00:00:04"
    view = BootView()
    view.load(1, [first, second, make_port(first.id, mac_address=mac),
                  make_port(second.id, mac_address=mac, boot_profile_id="prof"), kernel])
    assert decide_boot(view, mac).profile == kernel
