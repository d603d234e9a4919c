"""``metalnet boot-profile``, ``sightings``, the boot options of ``port``/``network``
(against a real ``metalnet serve``) and ``metalnet boot assets`` (local)."""

from __future__ import annotations

import io
import json
import time
from pathlib import Path
from typing import Any

import pytest

from metalnet.cli.main import main
from metalnet.core.model import Sighting
from metalnet.store.store import Store
from tests.support.server import running_server


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    workdir = tmp_path_factory.mktemp("boot-cli")
    with running_server(workdir) as url:
        yield url, workdir / "state" / "metalnet.sqlite"


@pytest.fixture
def cli(server, capsys):
    """Run ``metalnet ARGS --url URL`` in-process; (exit status, stdout, stderr)."""

    def run(*args: str) -> tuple[int, str, str]:
        status = main([*args, "--url", server[0]])
        out, err = capsys.readouterr()
        return status, out, err

    return run


def cli_json(cli, *args: str) -> Any:
    status, out, err = cli(*args, "-f", "json")
    assert status == 0, err
    return json.loads(out)


@pytest.mark.integration
def test_boot_profile_lifecycle(cli, tmp_path: Path) -> None:
    made = cli_json(cli, "boot-profile", "create", "deploy", "--kernel", "images/vmlinuz",
                    "--initrd", "images/initrd.img", "--initrd", "http://198.18.0.9/fw.cpio",
                    "--cmdline", "console=ttyS0 ip=dhcp", "--description", "deploy ramdisk")
    assert (made["name"], made["kind"], made["kernel"], made["initrds"], made["cmdline"]) == (
        "deploy", "kernel", "images/vmlinuz", ["images/initrd.img", "http://198.18.0.9/fw.cpio"],
        "console=ttyS0 ip=dhcp")
    assert made["description"] == "deploy ramdisk"
    script = tmp_path / "menu.ipxe"
    script.write_text("#!ipxe\necho menu\nshell\n")
    raw = cli_json(cli, "boot-profile", "create", "menu", "--script", str(script))
    assert raw["kind"] == "script" and raw["script"] == "#!ipxe\necho menu\nshell\n"
    chain = cli_json(cli, "boot-profile", "create", "chain", "--chain-url",
                     "http://198.18.0.9/boot.ipxe")
    assert chain["chain_url"] == "http://198.18.0.9/boot.ipxe"

    listed = cli_json(cli, "boot-profile", "list")
    assert {p["name"]: p["boots"] for p in listed} == {
        "chain": "http://198.18.0.9/boot.ipxe", "deploy": "images/vmlinuz",
        "menu": "iPXE script (4 lines)"}
    status, out, _ = cli("boot-profile", "list")
    assert status == 0 and "| kind" in out and "deploy" in out and "iPXE script" in out
    assert cli_json(cli, "boot-profile", "show", "deploy")["id"] == made["id"]
    assert cli_json(cli, "boot-profile", "show", made["id"])["name"] == "deploy"
    status, out, _ = cli("boot-profile", "show", "menu")
    assert status == 0 and "| script" in out and "echo menu" in out

    updated = cli_json(cli, "boot-profile", "update", "deploy", "--cmdline", "quiet",
                       "--name", "deploy2")
    assert updated["cmdline"] == "quiet" and updated["name"] == "deploy2"
    assert updated["initrds"] == made["initrds"]
    cleared = cli_json(cli, "boot-profile", "update", "deploy2", "--no-initrd")
    assert cleared["initrds"] == [] and cleared["kernel"] == "images/vmlinuz"
    swapped = cli_json(cli, "boot-profile", "update", made["id"], "--chain-url",
                       "http://198.18.0.9/other.ipxe")
    assert (swapped["kind"], swapped["kernel"], swapped["cmdline"]) == ("chain", None, "")
    back = cli_json(cli, "boot-profile", "update", "deploy2", "--kernel", "vmlinuz",
                    "--initrd", "initrd.img")
    assert (back["kind"], back["initrds"]) == ("kernel", ["initrd.img"])

    assert cli("boot-profile", "delete", "deploy2", raw["id"], "chain")[0] == 0
    assert cli_json(cli, "boot-profile", "list") == []
    status, _, err = cli("boot-profile", "show", "deploy2")
    assert status == 1 and "BootProfileNotFound" in err


@pytest.mark.integration
def test_script_from_stdin(cli, monkeypatch) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO("#!ipxe\nexit\n"))
    made = cli_json(cli, "boot-profile", "create", "stdin", "--script", "-")
    assert made["script"] == "#!ipxe\nexit\n"
    assert cli("boot-profile", "delete", "stdin")[0] == 0


@pytest.mark.integration
def test_boot_profile_errors(cli, tmp_path: Path) -> None:
    status, _, err = cli("boot-profile", "create", "bad", "--kernel", "../vmlinuz")
    assert status == 1 and "boot directory" in err
    status, _, err = cli("boot-profile", "create", "bad", "--script", str(tmp_path / "none"))
    assert status == 1 and "cannot read script" in err
    not_ipxe = tmp_path / "plain.sh"
    not_ipxe.write_text("echo hi\n")
    status, _, err = cli("boot-profile", "create", "bad", "--script", str(not_ipxe))
    assert status == 1 and "#!ipxe" in err
    status, _, err = cli("boot-profile", "create", "bad", "--chain-url", "http://h/x",
                         "--initrd", "i")
    assert status == 1 and "--initrd and --cmdline go with --kernel" in err
    with pytest.raises(SystemExit) as usage:  # no kind, or two kinds: argparse refuses
        cli("boot-profile", "create", "bad")
    assert usage.value.code == 2
    with pytest.raises(SystemExit):
        cli("boot-profile", "create", "bad", "--kernel", "k", "--chain-url", "http://h/x")
    cli_json(cli, "boot-profile", "create", "chained", "--chain-url", "http://h/x")
    status, _, err = cli("boot-profile", "update", "chained", "--cmdline", "quiet")
    assert status == 1 and "--kernel" in err
    status, _, err = cli("boot-profile", "update", "chained")
    assert status == 1 and "nothing to update" in err
    status, _, err = cli("boot-profile", "update", "nope", "--description", "x")
    assert status == 1 and "BootProfileNotFound" in err
    assert cli("boot-profile", "delete", "chained")[0] == 0
    assert cli_json(cli, "boot-profile", "list") == []


@pytest.mark.integration
def test_port_and_network_boot_options(cli) -> None:
    profile = cli_json(cli, "boot-profile", "create", "p1", "--kernel", "vmlinuz")
    discovery = cli_json(cli, "boot-profile", "create", "disc", "--kernel", "discovery")
    net = cli_json(
        cli, "network", "create", "boot-net", "--discovery-profile", "disc",
        "--boot-dhcp-opt", "name=tag:bios,bootfile-name,value=pxelinux.0",
        "--boot-dhcp-opt", "name=server-ip-address,value=198.18.4.1",
    )
    assert net["discovery_profile"] == discovery["id"]
    assert [(o["opt_name"], o["opt_value"]) for o in net["boot_dhcp_opts"]] == [
        ("tag:bios,bootfile-name", "pxelinux.0"), ("server-ip-address", "198.18.4.1")]
    cli_json(cli, "subnet", "create", "boot-v4", "--network", "boot-net",
             "--subnet-range", "198.18.4.0/24")
    port = cli_json(cli, "port", "create", "m1", "--network", "boot-net",
                    "--mac-address", "52:54:00:b0:07:01", "--boot-profile", "p1")
    assert port["boot_profile"] == profile["id"]
    status, _, err = cli("boot-profile", "delete", "p1")
    assert status == 1 and "BootProfileInUse" in err
    status, _, err = cli("port", "update", "m1", "--boot-profile", "nope")
    assert status == 1 and "BootProfileNotFound" in err
    assert cli_json(cli, "port", "update", "m1", "--boot-profile", profile["id"])[
        "boot_profile"] == profile["id"]
    assert cli_json(cli, "port", "update", "m1", "--no-boot-profile")["boot_profile"] is None

    changed = cli_json(cli, "network", "update", "boot-net",
                       "--boot-dhcp-opt", "name=bootfile-name,value=undionly.kpxe")
    assert [o["opt_name"] for o in changed["boot_dhcp_opts"]] == ["bootfile-name"]
    cleared = cli_json(cli, "network", "update", "boot-net", "--no-boot-dhcp-opts",
                       "--no-discovery-profile")
    assert cleared["boot_dhcp_opts"] == [] and cleared["discovery_profile"] is None

    assert cli("port", "delete", "m1")[0] == 0
    assert cli("subnet", "delete", "boot-v4")[0] == 0
    assert cli("network", "delete", "boot-net")[0] == 0
    assert cli("boot-profile", "delete", "p1", "disc")[0] == 0


@pytest.mark.integration
def test_sightings_list(cli, server) -> None:
    assert cli_json(cli, "sightings", "list") == []
    now = time.time()
    store = Store(f"sqlite:///{server[1]}")
    try:
        store.sightings.save([
            Sighting("52:54:00:5e:00:01", None, now - 9, now - 5, 4, "PXEClient:Arch:00007",
                     7, None, None, None, None, "ignore"),
            Sighting("52:54:00:5e:00:02", None, now - 3, now, 1, None, 0, "iPXE", None, None,
                     None, "ignore"),
        ])
    finally:
        store.close()
    assert [s["mac"] for s in cli_json(cli, "sightings", "list")] == [
        "52:54:00:5e:00:02", "52:54:00:5e:00:01"]
    one = cli_json(cli, "sightings", "list", "--mac", "52-54-00-5E-00-01")
    assert [(s["mac"], s["count"], s["client_arch"]) for s in one] == [
        ("52:54:00:5e:00:01", 4, 7)]
    status, out, _ = cli("sightings", "list")
    assert status == 0 and "| mac" in out and "52:54:00:5e:00:02" in out


# -- boot assets (local, no API) ---------------------------------------------------------


def assets(capsys, *args: str) -> tuple[int, str, str]:
    status = main(["boot", "assets", *args])
    out, err = capsys.readouterr()
    return status, out, err


def test_assets_missing_required_exits_1(capsys, tmp_path: Path, loaders: Path) -> None:
    boot = tmp_path / "boot"
    status, out, err = assets(capsys, "--boot-dir", str(boot), "--bootloader-dir", str(loaders),
                              "-f", "json")
    assert status == 1
    assert "undionly.kpxe" in err and "ipxe.efi" in err and "--install" in err
    rows = {r["name"]: r for r in json.loads(out)}
    assert rows["undionly.kpxe"] == {"name": "undionly.kpxe", "required": True,
                                     "source": str(loaders / "undionly.kpxe"),
                                     "installed": False}
    assert rows["pxelinux.0"]["required"] is False
    assert not boot.exists()  # listing changes nothing


def test_assets_install_copies_and_then_lists_present(
    capsys, tmp_path: Path, loaders: Path,
) -> None:
    boot = tmp_path / "boot"
    status, out, err = assets(capsys, "--boot-dir", str(boot), "--bootloader-dir", str(loaders),
                              "--install", "-f", "json")
    assert status == 0, err
    rows = {r["name"]: r for r in json.loads(out)}
    assert rows["undionly.kpxe"]["installed"] and rows["ipxe.efi"]["installed"]
    assert (boot / "undionly.kpxe").read_bytes() == b"bios loader"
    assert (boot / "ipxe.efi").read_bytes() == b"efi loader"
    assert not (boot / "undionly.kpxe").is_symlink()
    # Without --install: present now, exit 0, and a table by default.
    status, out, _ = assets(capsys, "--boot-dir", str(boot), "--bootloader-dir", str(loaders))
    assert status == 0 and "| name" in out and "undionly.kpxe" in out


def test_assets_default_boot_dir_is_under_the_state_dir(
    capsys, tmp_path: Path, loaders: Path,
) -> None:
    status, _, err = assets(capsys, "--state-dir", str(tmp_path / "state"),
                            "--bootloader-dir", str(loaders), "--install")
    assert status == 0, err
    assert (tmp_path / "state" / "boot" / "ipxe.efi").read_bytes() == b"efi loader"


def test_assets_install_into_an_unwritable_place_is_an_error(
    capsys, tmp_path: Path, loaders: Path,
) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    status, _, err = assets(capsys, "--boot-dir", str(blocker / "boot"),
                            "--bootloader-dir", str(loaders), "--install")
    assert status == 1 and "cannot install" in err
