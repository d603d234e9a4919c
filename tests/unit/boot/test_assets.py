"""Bootloaders: found in a configured directory first, copied (never linked) into the
boot directory, and only counted as installed when the file sources can serve them."""

from __future__ import annotations

import pytest

from metalnet.boot import assets
from metalnet.boot.errors import AccessDenied
from metalnet.boot.sources import StaticRoot


def by_name(found: list[assets.Asset]) -> dict[str, assets.Asset]:
    return {a.name: a for a in found}


def test_survey_lists_every_known_loader_and_changes_nothing(tmp_path, loaders) -> None:
    boot = tmp_path / "boot"
    found = by_name(assets.survey(boot, loaders))
    assert set(found) == set(assets.DEBIAN_PATHS) and set(assets.REQUIRED) <= set(found)
    assert found["undionly.kpxe"].source == loaders / "undionly.kpxe"
    assert not any(a.installed for a in found.values())
    assert not boot.exists()


def test_install_copies_and_is_idempotent(tmp_path, loaders) -> None:
    boot = tmp_path / "boot"
    found = by_name(assets.install(boot, loaders))
    assert found["undionly.kpxe"].installed and found["ipxe.efi"].installed
    assert (boot / "undionly.kpxe").read_bytes() == b"bios loader"
    first = (boot / "undionly.kpxe").stat().st_ino
    assets.install(boot, loaders)
    assert (boot / "undionly.kpxe").stat().st_ino == first  # same content: left alone
    (loaders / "undionly.kpxe").write_bytes(b"new bios loader")
    assets.install(boot, loaders)
    assert (boot / "undionly.kpxe").read_bytes() == b"new bios loader"
    assert not list(boot.glob(".*partial"))


def test_a_link_leading_out_is_not_installed_and_is_replaced(tmp_path, loaders) -> None:
    boot = tmp_path / "boot"
    boot.mkdir()
    (boot / "undionly.kpxe").symlink_to(loaders / "undionly.kpxe")
    (boot / "inside.kpxe").write_bytes(b"x")
    (boot / "ipxe.efi").symlink_to("inside.kpxe")  # stays inside: served
    found = by_name(assets.survey(boot, loaders))
    assert not found["undionly.kpxe"].installed  # StaticRoot would refuse it
    assert found["ipxe.efi"].installed
    with pytest.raises(AccessDenied):
        StaticRoot(boot).open("undionly.kpxe")

    assert by_name(assets.install(boot, loaders))["undionly.kpxe"].installed
    assert not (boot / "undionly.kpxe").is_symlink()
    assert (loaders / "undionly.kpxe").read_bytes() == b"bios loader"  # not written through
    with StaticRoot(boot).open("undionly.kpxe") as opened:
        assert opened.stream.read() == b"bios loader"
