"""The ramdisk agent (POSIX sh) against a fake /sys and /proc, under dash and busybox
ash, printing its inventory and posting it (with retries) to a local HTTP server."""

from __future__ import annotations

import http.server
import json
import os
import shutil
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from metalnet.discovery.schema import Inventory

AGENT = Path(__file__).resolve().parents[3] / "metalnet" / "discovery" / "agent.sh"
SHELLS = [s for s in ("dash", "busybox") if shutil.which(s)]


def write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


@pytest.fixture
def root(tmp_path: Path) -> Path:
    """A fake machine: 2 CPUs, 2 GiB, one virtio disk, one NIC with a link, DMI, UEFI."""
    r = tmp_path / "root"
    write(r / "proc/cpuinfo", "processor\t: 0\nmodel name\t: QEMU \"Virtual\" CPU\n\n"
                              "processor\t: 1\nmodel name\t: QEMU \"Virtual\" CPU\n")
    write(r / "proc/meminfo", "MemTotal:        2097152 kB\nMemFree: 1 kB\n")
    write(r / "proc/cmdline", "console=ttyS0 BOOTIF=01-52-54-00-AA-BB-01 metalnet.after=stay\n")
    write(r / "sys/block/vda/size", "131072\n")
    write(r / "sys/block/vda/serial", "DISK\\1\n")
    write(r / "sys/block/vda/queue/rotational", "0\n")
    write(r / "sys/block/loop0/size", "0\n")
    write(r / "sys/block/sda/size", "2048\n")
    write(r / "sys/block/sda/device/model", "QEMU HARDDISK   \n")
    write(r / "sys/block/sda/device/vendor", "ATA     \n")
    nic = r / "sys/class/net/eth0"
    write(nic / "address", "52:54:00:aa:bb:01\n")
    write(nic / "carrier", "1\n")
    (nic / "device").mkdir(parents=True)
    (r / "drivers/virtio_net").mkdir(parents=True)
    (nic / "device/driver").symlink_to(r / "drivers/virtio_net")
    write(r / "sys/class/net/lo/address", "00:00:00:00:00:00\n")
    write(r / "sys/class/net/br0/address", "52:54:00:aa:bb:99\n")  # no device: virtual
    dmi = r / "sys/class/dmi/id"
    for name, value in {"sys_vendor": "Metalnet Lab", "product_name": "VM",
                        "product_serial": "LAB-1", "product_uuid": "u-1"}.items():
        write(dmi / name, value + "\n")
    (r / "sys/firmware/efi").mkdir(parents=True)
    return r


def run_agent(shell: str, root: Path, *args: str, env: dict[str, str] | None = None,
              timeout: float = 60) -> subprocess.CompletedProcess[str]:
    argv = ["busybox", "sh"] if shell == "busybox" else [shell]
    return subprocess.run([*argv, str(AGENT), *args], capture_output=True, text=True,
                          timeout=timeout, env={**os.environ, "METALNET_ROOT": str(root),
                                                **(env or {})})


@pytest.mark.parametrize("shell", SHELLS)
def test_print_builds_a_valid_inventory(shell: str, root: Path) -> None:
    done = run_agent(shell, root, "--print")
    assert done.returncode == 0, done.stderr
    inventory = Inventory.model_validate_json(done.stdout)
    assert inventory.boot_mode == "uefi"
    assert inventory.boot_mac == "52:54:00:aa:bb:01"  # from BOOTIF=
    assert inventory.cpu.count == 2 and inventory.cpu.model == 'QEMU "Virtual" CPU'
    assert inventory.memory.total_mib == 2048
    disks = {d.name: d for d in inventory.disks}
    assert set(disks) == {"vda", "sda"}
    assert disks["vda"].size_bytes == 64 * 1024 * 1024 and disks["vda"].serial == "DISK\\1"
    assert disks["vda"].rotational is False
    assert disks["sda"].model == "QEMU HARDDISK" and disks["sda"].vendor == "ATA"
    assert [(n.name, n.mac, n.link, n.driver, n.speed_mbps) for n in inventory.nics] == [
        ("eth0", "52:54:00:aa:bb:01", True, "virtio_net", None)]
    assert inventory.dmi.vendor == "Metalnet Lab" and inventory.dmi.serial == "LAB-1"


class _Server(http.server.ThreadingHTTPServer):
    failures = 0
    bodies: list[bytes]


class _Handler(http.server.BaseHTTPRequestHandler):
    def do_POST(self) -> None:
        server: _Server = self.server  # type: ignore[assignment]
        body = self.rfile.read(int(self.headers["Content-Length"]))
        server.bodies.append(body)
        status = 503 if len(server.bodies) <= server.failures else 201
        payload = json.dumps({"status": "discovered"}).encode()
        self.send_response(status)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, *_args: object) -> None:
        pass


@pytest.fixture
def server() -> Iterator[_Server]:
    srv = _Server(("127.0.0.1", 0), _Handler)
    srv.bodies = []
    thread = threading.Thread(target=srv.serve_forever, daemon=True)
    thread.start()
    yield srv
    srv.shutdown()
    srv.server_close()


@pytest.fixture
def busybox_path(tmp_path: Path) -> str:
    """A PATH whose wget and timeout are busybox's (the ramdisk's tools)."""
    if shutil.which("busybox") is None:
        pytest.skip("busybox is not installed")
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for applet in ("wget", "timeout", "sleep", "sed", "tr", "wc", "cat", "rm", "head", "grep"):
        (bin_dir / applet).symlink_to(shutil.which("busybox") or "busybox")
    return f"{bin_dir}:{os.environ['PATH']}"


def test_posts_with_retries(root: Path, server: _Server, busybox_path: str) -> None:
    server.failures = 2
    url = f"http://127.0.0.1:{server.server_address[1]}/v1/discovery"
    done = run_agent("busybox", root, "--url", url,
                     env={"PATH": busybox_path, "METALNET_RETRIES": "4"})
    assert done.returncode == 0, done.stderr
    assert "METALNET-INVENTORY-POSTED" in done.stdout
    assert len(server.bodies) == 3  # two 503s, then accepted
    assert Inventory.model_validate_json(server.bodies[-1]).dmi.serial == "LAB-1"
    assert "attempt 1/4 failed" in done.stderr


def test_gives_up_after_its_retries(root: Path, server: _Server, busybox_path: str) -> None:
    server.failures = 10
    url = f"http://127.0.0.1:{server.server_address[1]}/v1/discovery"
    done = run_agent("busybox", root, "--url", url,
                     env={"PATH": busybox_path, "METALNET_RETRIES": "2"})
    assert done.returncode == 1
    assert len(server.bodies) == 2 and "giving up" in done.stderr
