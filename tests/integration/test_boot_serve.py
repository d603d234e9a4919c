"""A machine with a boot profile boots through ``metalnet serve --interface`` with no
per-port DHCP option: DHCP points each firmware at the right loader, TFTP and HTTP
serve the loaders and the machine's rendered files, and a profile change shows
without a restart (issue 4, items 3 and 4).

One server namespace serves ``ctl`` (198.18.30.0/24) from a boot directory this
module fills (a kernel image, and two symlinks leading out of it). The client
namespace has the booting machine's MAC and address 198.18.30.20; DHCP requests are
crafted (:class:`DhcpProbe`), files are fetched with tftp-hpa's ``tftp`` and curl.
"""

from __future__ import annotations

import random
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from metalnet.wire.dhcp4.options import encode_client_arch
from tests.support.netns import (
    DhcpProbe,
    DhcpSite,
    NamespaceHttp,
    NetnsLab,
    ip_text,
    random_mac,
    request_packet,
    skip_unless_netns,
)

pytestmark = pytest.mark.integration

SERVER = "198.18.30.1"
CLIENT_IP = "198.18.30.20"
HTTP = f"http://{SERVER}:8080"
UNDIONLY = Path("/usr/lib/ipxe/undionly.kpxe")
KERNEL = random.Random(4).randbytes(1024 * 1024 + 77)

BIOS = {93: encode_client_arch(0), 60: b"PXEClient:Arch:00000:UNDI:002001"}
EFI = {93: encode_client_arch(7), 60: b"PXEClient:Arch:00007:UNDI:003000"}
IPXE = {**BIOS, 77: b"iPXE"}  # iPXE's raw user class (FIRMWARE.md)


@dataclass
class Boot:
    """The running site and the machine that boots from it."""

    site: DhcpSite
    ns: str
    probe: DhcpProbe
    mac: str
    port: dict[str, Any]
    deploy: dict[str, Any]
    boot_dir: Path
    workdir: Path

    @property
    def api(self) -> NamespaceHttp:
        return self.site.api

    @property
    def dashed_mac(self) -> str:
        """The MAC as pxelinux and grub file names write it (and as tftp-hpa can ask for it)."""
        return self.mac.replace(":", "-")

    def run(self, argv: list[str], timeout: float = 30.0) -> Any:
        return self.site.lab.run(self.ns, argv, timeout=timeout)

    def curl(self, *args: str) -> tuple[str, bytes]:
        """curl ARGS in the client namespace; (HTTP status, body)."""
        out = self.workdir / "curl.out"
        out.unlink(missing_ok=True)
        done = self.run(["curl", "-sS", "-o", str(out), "-w", "%{http_code}", *args])
        body = out.read_bytes() if out.exists() else b""
        return done.stdout.strip(), body

    def tftp(self, remote: str) -> tuple[str, bytes | None]:
        """tftp-hpa ``get`` in the client namespace; (its output, the file or None)."""
        local = self.workdir / "tftp.out"
        local.unlink(missing_ok=True)
        done = self.run(["tftp", SERVER, "-m", "binary", "-c", "get", remote, str(local)])
        data = local.read_bytes() if local.exists() else None
        return done.stdout + done.stderr, data

    def discover(self, options: dict[int, bytes], mac: str | None = None) -> Any:
        offer = self.probe.exchange(request_packet(mac or self.mac, 1, options=options), 3.0)
        assert offer is not None, self.site.server.log_tail()
        return offer


@pytest.fixture(scope="module")
def boot(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Boot]:
    skip_unless_netns("tftp", "curl")
    if not UNDIONLY.is_file():
        pytest.skip("Debian's ipxe package is not installed")
    workdir = tmp_path_factory.mktemp("boot-serve")
    boot_dir = workdir / "bootdir"
    (boot_dir / "images").mkdir(parents=True)
    (boot_dir / "images" / "kernel.bin").write_bytes(KERNEL)
    (boot_dir / "images" / "initrd.img").write_bytes(b"initrd")
    (workdir / "secret").write_text("outside the boot directory\n")
    (boot_dir / "escape").symlink_to(workdir / "secret")
    (boot_dir / "passwd").symlink_to("/etc/passwd")
    with NetnsLab() as lab:
        site = DhcpSite(lab, workdir, {"ctl": ("198.18.30.0/24", "ignore")},
                        extra_args=("--boot-dir", str(boot_dir)))
        try:
            deploy = site.api.post("/v1/boot-profiles", json={"boot_profile": {
                "name": "deploy", "kernel": "images/kernel.bin",
                "initrds": ["images/initrd.img"], "cmdline": "console=ttyS0 ip=dhcp"}})
            assert deploy.status_code == 201, deploy.text
            mac = random_mac()
            port = site.port("ctl", mac, 20, boot_profile="deploy")
            assert port["extra_dhcp_opts"] == [] and port["boot_profile"]
            ns, iface = site.client("ctl", mac)
            lab.add_address(ns, iface, f"{CLIENT_IP}/24")
            with DhcpProbe(ns, iface) as probe:
                yield Boot(site, ns, probe, mac, port, deploy.json()["boot_profile"], boot_dir,
                           workdir)
            assert site.server.alive(), site.server.log_tail()
            assert site.close() == 0, site.server.log_tail()
        finally:
            site.close()


# -- (a) DHCP points each firmware at its loader -----------------------------------------


def test_bios_pxe_gets_undionly_from_this_server(boot: Boot) -> None:
    offer = boot.discover(BIOS)
    assert offer.file == b"undionly.kpxe"
    assert ip_text(offer.siaddr) == SERVER
    assert ip_text(offer.yiaddr) == CLIENT_IP


def test_efi_pxe_gets_ipxe_efi(boot: Boot) -> None:
    offer = boot.discover(EFI)
    assert offer.file == b"ipxe.efi" and ip_text(offer.siaddr) == SERVER


def test_ipxe_gets_the_http_chain_script(boot: Boot) -> None:
    offer = boot.discover(IPXE)
    assert offer.file == f"{HTTP}/boot.ipxe".encode()
    # RFC 3004 form of the user class too
    offer = boot.discover({**EFI, 77: b"\x04iPXE"})
    assert offer.file == f"{HTTP}/boot.ipxe".encode()


# -- (b) TFTP and HTTP serve the loaders and the machine's files -------------------------


def test_tftp_serves_undionly_byte_exact(boot: Boot) -> None:
    output, data = boot.tftp("undionly.kpxe")
    assert data == UNDIONLY.read_bytes(), output


def test_tftp_serves_the_rendered_pxelinux_config(boot: Boot) -> None:
    output, data = boot.tftp(f"pxelinux.cfg/01-{boot.dashed_mac}")
    assert data is not None, output
    text = data.decode()
    assert "  KERNEL images/kernel.bin\n" in text
    assert "  APPEND initrd=images/initrd.img console=ttyS0 ip=dhcp\n" in text
    output, data = boot.tftp(f"grub.cfg-01-{boot.dashed_mac}")
    assert data is not None and b"linux /images/kernel.bin console=ttyS0" in data, output


def test_http_serves_the_chain_and_the_machine_script(boot: Boot) -> None:
    status, body = boot.curl(f"{HTTP}/boot.ipxe")
    assert status == "200" and body == b"#!ipxe\nchain /boot/${mac:hexhyp}.ipxe\n"
    # iPXE expands ${mac:hexhyp} to lower-case, dash-separated hex; colons work too.
    status, body = boot.curl(f"{HTTP}/boot/{boot.dashed_mac}.ipxe")
    assert status == "200"
    assert boot.curl(f"{HTTP}/boot/{boot.mac}.ipxe") == (status, body)
    script = body.decode()
    assert status == "200" and script.startswith("#!ipxe\n")
    assert ("kernel /images/kernel.bin initrd=initrd.img console=ttyS0 ip=dhcp\n"
            "initrd /images/initrd.img\nboot || goto failed\n") in script
    # The same script over TFTP (dashes: tftp-hpa reads "get a:b" as host:file).
    output, data = boot.tftp(f"boot/{boot.dashed_mac}.ipxe")
    assert data == body, output
    # And what the script loads, byte-exact.
    status, body = boot.curl(f"{HTTP}/images/kernel.bin")
    assert status == "200" and body == KERNEL


def test_http_head_and_range_of_a_boot_file(boot: Boot) -> None:
    done = boot.run(["curl", "-sS", "-I", f"{HTTP}/images/kernel.bin"])
    headers = done.stdout.lower()
    assert "http/1.1 200" in headers, done.stderr
    assert f"content-length: {len(KERNEL)}" in headers and "accept-ranges: bytes" in headers
    status, body = boot.curl("-r", "1000-1999", f"{HTTP}/images/kernel.bin")
    assert status == "206" and body == KERNEL[1000:2000]
    status, body = boot.curl("-r", "-77", f"{HTTP}/images/kernel.bin")
    assert status == "206" and body == KERNEL[-77:]
    status, _ = boot.curl("-r", f"{len(KERNEL)}-", f"{HTTP}/images/kernel.bin")
    assert status == "416"


# -- (c) a profile change shows without a restart ----------------------------------------


def _wait_for_script(boot: Boot, http: NamespaceHttp, needle: str, timeout: float) -> float:
    start = time.monotonic()
    while time.monotonic() - start < timeout:
        if needle in http.get(f"/boot/{boot.mac}.ipxe").text:
            return time.monotonic() - start
        time.sleep(0.02)
    raise AssertionError(f"{needle!r} not in the script within {timeout} s")


def test_changing_the_port_profile_changes_the_script_at_once(boot: Boot) -> None:
    chain = boot.api.post("/v1/boot-profiles", json={"boot_profile": {
        "name": "menu", "chain_url": "http://198.18.30.9/menu.ipxe"}})
    assert chain.status_code == 201, chain.text
    http = NamespaceHttp(boot.ns, HTTP)
    try:
        pid = boot.site.server.pid
        boot.api.update("ports", boot.port["id"], {"boot_profile": "menu"})
        waited = _wait_for_script(boot, http, "chain http://198.18.30.9/menu.ipxe", 1.0)
        # A change to the profile itself shows the same way.
        response = boot.api.put("/v1/boot-profiles/menu", json={"boot_profile": {
            "chain_url": "http://198.18.30.9/other.ipxe"}})
        assert response.status_code == 200, response.text
        waited = max(waited, _wait_for_script(boot, http, "198.18.30.9/other.ipxe", 1.0))
        boot.api.update("ports", boot.port["id"], {"boot_profile": "deploy"})
        _wait_for_script(boot, http, "kernel /images/kernel.bin", 1.0)
        _, data = boot.tftp(f"pxelinux.cfg/01-{boot.dashed_mac}")
        assert data is not None and b"KERNEL images/kernel.bin" in data
        assert boot.site.server.pid == pid and boot.site.server.alive()  # no restart
        assert waited < 1.0
    finally:
        http.close()
        boot.api.delete("/v1/boot-profiles/menu")


# -- (d) no profile, network options, traversal ------------------------------------------


def test_a_machine_without_profile_boots_its_local_disk(boot: Boot) -> None:
    plain = random_mac()
    port = boot.site.port("ctl", plain, 21)
    try:
        for mac, reason in ((plain, "no boot profile assigned"), (random_mac(), "unknown")):
            status, body = boot.curl(f"{HTTP}/boot/{mac}.ipxe")
            script = body.decode()
            assert status == "200" and script.startswith("#!ipxe\n"), script
            assert reason in script and "sanboot" in script and "kernel" not in script
        _, data = boot.tftp(f"pxelinux.cfg/01-{plain.replace(':', '-')}")
        assert data is not None and b"LOCALBOOT 0" in data
        # Its DHCP answer still names the loader: iPXE then says why and exits.
        assert boot.discover(BIOS, plain).file == b"undionly.kpxe"
    finally:
        boot.api.delete(f"/v2.0/ports/{port['id']}")


def test_network_boot_dhcp_opts_override_the_defaults(boot: Boot) -> None:
    network_id = boot.site.segments["ctl"].network["id"]
    boot.api.update("networks", network_id, {"boot_dhcp_opts": [
        {"opt_name": "tag:bios,bootfile-name", "opt_value": "pxelinux.0"},
        {"opt_name": "tag:ipxe,bootfile-name", "opt_value": "http://198.18.30.9/x.ipxe"},
        {"opt_name": "server-ip-address", "opt_value": "198.18.30.9"},
    ]})
    try:
        boot.site.sync()
        offer = boot.discover(BIOS)
        assert offer.file == b"pxelinux.0" and ip_text(offer.siaddr) == "198.18.30.9"
        assert boot.discover(IPXE).file == b"http://198.18.30.9/x.ipxe"
        offer = boot.discover(EFI)  # the network names no EFI loader: none, not the default
        assert offer.file == b"" and ip_text(offer.siaddr) == "198.18.30.9"
    finally:
        boot.api.update("networks", network_id, {"boot_dhcp_opts": []})
        boot.site.sync()
    assert boot.discover(BIOS).file == b"undionly.kpxe"


@pytest.mark.parametrize("path,expected", [
    ("../../etc/passwd", "403"),
    ("boot/../../etc/passwd", "403"),
    ("%2e%2e/%2e%2e/etc/passwd", "403"),
    ("images/..%2f..%2f..%2fetc%2fpasswd", "403"),
    ("escape", "403"),
    ("passwd", "403"),
    ("/etc/passwd", "404"),  # a leading slash is the top of the boot directory
    ("etc/passwd", "404"),
])
def test_http_traversal_is_refused(boot: Boot, path: str, expected: str) -> None:
    status, body = boot.curl("--path-as-is", f"{HTTP}/{path}")
    assert status == expected, body
    assert b"root:" not in body and b"outside" not in body


@pytest.mark.parametrize("path,code", [
    ("../../etc/passwd", "Error code 2"),
    ("boot/../../../etc/passwd", "Error code 2"),
    ("escape", "Error code 2"),
    ("passwd", "Error code 2"),
    ("/etc/passwd", "Error code 1"),  # looked up inside the boot directory: not there
])
def test_tftp_traversal_is_refused(boot: Boot, path: str, code: str) -> None:
    output, data = boot.tftp(path)
    assert code in output, output
    assert not data


# -- (c) what the services counted ---------------------------------------------------------


def test_the_counters_show_answers_and_refusals(boot: Boot) -> None:
    boot.discover(BIOS)
    boot.tftp("../../etc/passwd")  # refused: counted by reason
    unknown = request_packet(random_mac(), 1, options=BIOS)
    assert boot.probe.exchange(unknown, 1.0) is None  # "ignore": no answer, a counted drop
    response = boot.api.get("/v1/counters")
    assert response.status_code == 200, response.text
    counters = response.json()["counters"]
    assert counters["dhcp"]["sent:OFFER"] >= 1
    assert counters["dhcp"]["drop:unknown-mac:ignore"] >= 1
    tftp = counters["tftp"][SERVER]
    assert tftp["drops"]["access-denied"] >= 1 and tftp["transfers_completed"] >= 1
