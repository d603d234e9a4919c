"""QEMU end-to-end harness: a provisioning network in a namespace, metalnet serving it,
and VMs PXE-booting from it with Debian's firmware (SeaBIOS + the ipxe-qemu NIC ROM,
or OVMF).

    with PxeLab(tmp_path, images) as lab:             # namespace, bridge, metalnet serve
        lab.setup_network(policy="discover", discovery_profile="discovery")
        vm = lab.vm("52:54:00:4d:4e:01")              # a tap on the bridge + qemu, by PID
        vm.wait_for("METALNET-PROFILE-BOOTED", 120)   # the serial console, bounded

Everything is torn down on exit, even on failure: QEMU and tcpdump and metalnet are
stopped by PID, the namespace (and so the bridge and taps) deleted. Only
198.18.0.0/15 addresses are used. QEMU uses KVM when /dev/kvm is usable and the CPU
advertises virtualisation (vmx/svm), else TCG; ``METALNET_E2E_ACCEL=kvm|tcg`` forces it.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import struct
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from metalnet.wire.dhcp4 import Packet
from tests.support.netns import MetalnetInNamespace, NetnsLab, wait_until

REPO = Path(__file__).resolve().parents[2]
BUILD_SCRIPT = REPO / "scripts" / "build-discovery-image.sh"
ROM_DIR = Path("/usr/lib/ipxe/qemu")
OVMF_CODE = Path("/usr/share/OVMF/OVMF_CODE_4M.fd")
OVMF_VARS = Path("/usr/share/OVMF/OVMF_VARS_4M.fd")
QEMU = "qemu-system-x86_64"


def accelerator() -> str:
    """``kvm`` or ``tcg`` (see the module docstring)."""
    forced = os.environ.get("METALNET_E2E_ACCEL")
    if forced in ("kvm", "tcg"):
        return forced
    try:
        flags = Path("/proc/cpuinfo").read_text()
    except OSError:
        flags = ""
    usable = os.access("/dev/kvm", os.R_OK | os.W_OK)
    return "kvm" if usable and (" vmx" in flags or " svm" in flags) else "tcg"


def missing_tools() -> list[str]:
    """What the e2e tests need and this host lacks."""
    missing = [b for b in (QEMU, "ip", "tcpdump", "apt-get", "dpkg") if shutil.which(b) is None]
    if not (ROM_DIR / "efi-virtio.rom").exists():
        missing.append("ipxe-qemu")
    return missing


def build_images(timeout: float = 300.0) -> Path:
    """Run the (cached) image build; the directory with vmlinuz, discovery.img, target.img."""
    done = subprocess.run(["bash", str(BUILD_SCRIPT)], capture_output=True, text=True,
                          timeout=timeout, stdin=subprocess.DEVNULL)
    if done.returncode != 0:
        raise RuntimeError(f"image build failed:\n{done.stderr[-3000:]}")
    return Path(done.stdout.strip().splitlines()[-1])


# ---------------------------------------------------------------------- pcap

def dhcp_packets(pcap: Path) -> list[tuple[float, Packet]]:
    """DHCP/BOOTP packets (UDP 67/68/4011) in a pcap file written by tcpdump."""
    try:
        data = pcap.read_bytes()
    except OSError:
        return []
    if len(data) < 24:
        return []
    endian = "<" if data[:4] in (b"\xd4\xc3\xb2\xa1", b"\x4d\x3c\xb2\xa1") else ">"
    nanos = data[:4] in (b"\x4d\x3c\xb2\xa1", b"\xa1\xb2\x3c\x4d")
    offset, found = 24, []
    while offset + 16 <= len(data):
        seconds, fraction, captured, _ = struct.unpack(endian + "IIII", data[offset:offset + 16])
        frame = data[offset + 16:offset + 16 + captured]
        offset += 16 + captured
        stamp = seconds + fraction / (1e9 if nanos else 1e6)
        if len(frame) < 42 or frame[12:14] != b"\x08\x00" or frame[23] != 17:
            continue
        ihl = (frame[14] & 0x0F) * 4
        udp = 14 + ihl
        ports = struct.unpack("!HH", frame[udp:udp + 4])
        if not {67, 68, 4011} & set(ports):
            continue
        with contextlib.suppress(ValueError):
            found.append((stamp, Packet.from_wire(frame[udp + 8:])))
    return found


# ---------------------------------------------------------------------- the VM

@dataclass
class Vm:
    """One QEMU VM on the lab bridge; started (power-on time noted) and stopped by PID."""

    lab: PxeLab
    mac: str
    tap: str
    workdir: Path
    uefi: bool = False
    process: subprocess.Popen[bytes] | None = None
    powered_on: float = 0.0
    serial: Path = field(init=False)
    monitor: Path = field(init=False)

    def __post_init__(self) -> None:
        self.serial = self.workdir / f"serial-{self.tap}.log"
        self.monitor = self.workdir / f"monitor-{self.tap}.sock"

    def argv(self) -> list[str]:
        disk = self.workdir / f"disk-{self.tap}.raw"
        with open(disk, "wb") as f:
            f.truncate(64 * 1024 * 1024)
        serial_no = self.mac.replace(":", "")[-6:].upper()
        argv = [
            QEMU, "-machine", f"q35,accel={self.lab.accel}" if self.uefi else
            f"pc,accel={self.lab.accel}", "-m", "512", "-smp", "1",
            "-nographic", "-nodefaults", "-no-user-config",
            "-serial", f"file:{self.serial}",
            "-monitor", f"unix:{self.monitor},server,nowait",
            "-netdev", f"tap,id=n0,ifname={self.tap},script=no,downscript=no",
            # QEMU's default ROM for virtio-net is ipxe-qemu's efi-virtio.rom (iPXE for
            # BIOS and UEFI). Naming it with romfile= left SeaBIOS 1.16 / QEMU 7.2
            # without a network boot entry, so the default is kept.
            "-device", f"virtio-net-pci,netdev=n0,mac={self.mac}",
            "-drive", f"file={disk},if=none,id=d0,format=raw",
            "-device", f"virtio-blk-pci,drive=d0,serial=MNDISK{serial_no}",
            "-smbios", f"type=1,manufacturer=Metalnet Lab,product=PXE VM,serial=LAB-{serial_no}",
        ]
        if self.uefi:
            variables = self.workdir / f"ovmf-vars-{self.tap}.fd"
            shutil.copyfile(OVMF_VARS, variables)
            argv += ["-drive", f"if=pflash,format=raw,unit=0,readonly=on,file={OVMF_CODE}",
                     "-drive", f"if=pflash,format=raw,unit=1,file={variables}"]
        else:
            argv += ["-boot", "n"]
        return argv

    def start(self) -> None:
        """Power on (QEMU's stdout/stderr go to ``qemu-TAP.log``)."""
        self.serial.unlink(missing_ok=True)
        log = open(self.workdir / f"qemu-{self.tap}.log", "ab")  # noqa: SIM115 - closed below
        try:
            self.powered_on = time.monotonic()
            self.process = self.lab.lab.spawn(self.lab.ns, self.argv(), stdout=log,
                                              stderr=subprocess.STDOUT)
        finally:
            log.close()

    def console(self) -> str:
        """The serial console so far."""
        try:
            return self.serial.read_bytes().decode("utf-8", "replace")
        except OSError:
            return ""

    def qemu_log(self) -> str:
        try:
            return (self.workdir / f"qemu-{self.tap}.log").read_text(errors="replace")[-2000:]
        except OSError:
            return ""

    def reset(self) -> None:
        """``system_reset`` through the QEMU monitor (the next boot starts at PXE again)."""
        self.monitor_command("system_reset")

    def monitor_command(self, command: str) -> None:
        """Send one command to the QEMU monitor."""
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
            sock.settimeout(5)
            sock.connect(str(self.monitor))
            sock.sendall(command.encode() + b"\n")
            time.sleep(0.3)

    def wait_for(self, marker: str, timeout: float, since: int = 0) -> float:
        """Seconds from power-on until ``marker`` shows on the console (after offset ``since``).

        :raises AssertionError: not within ``timeout`` seconds, or QEMU exited; the
            message carries the console tail, QEMU's output and metalnet's log.
        """
        deadline = time.monotonic() + timeout
        while True:
            if marker in self.console()[since:]:
                return time.monotonic() - self.powered_on
            if self.process is not None and self.process.poll() is not None:
                raise AssertionError(self.lab.report(f"QEMU exited ({self.process.returncode}) "
                                                     f"before '{marker}'", self))
            if time.monotonic() > deadline:
                raise AssertionError(self.lab.report(f"'{marker}' not on the console within "
                                                     f"{timeout:.0f} s", self))
            time.sleep(0.2)

    def stop(self) -> None:
        if self.process is not None:
            NetnsLab.stop(self.process, grace=3.0)


# ---------------------------------------------------------------------- the lab

class PxeLab:
    """Namespace + bridge (198.18.``octet``.1/24) + tcpdump + ``metalnet serve`` + VMs."""

    def __init__(self, workdir: Path, images: Path, octet: int = 40) -> None:
        self.workdir = workdir
        self.images = images
        self.octet = octet
        self.server_ip = f"198.18.{octet}.1"
        self.accel = accelerator()
        self.lab = NetnsLab()
        self.vms: list[Vm] = []
        self.pcap = workdir / "dhcp.pcap"
        self.metalnet: MetalnetInNamespace | None = None
        self._taps = 0

    def __enter__(self) -> PxeLab:
        try:
            self.start()
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    @property
    def api(self) -> Any:
        assert self.metalnet is not None and self.metalnet.api is not None
        return self.metalnet.api

    def start(self) -> None:
        self.ns = self.lab.namespace("pxe")
        self.bridge = self.lab.bridge(self.ns, f"{self.server_ip}/24")
        boot = self.workdir / "boot"
        boot.mkdir(parents=True, exist_ok=True)
        for name in ("vmlinuz", "discovery.img", "target.img"):
            target = boot / name
            if not target.exists():
                try:
                    os.link(self.images / name, target)
                except OSError:
                    shutil.copyfile(self.images / name, target)
        self.tcpdump = self.lab.spawn(
            self.ns, ["tcpdump", "-i", self.bridge, "-U", "-n", "-w", str(self.pcap),
                      "udp port 67 or udp port 68 or udp port 4011"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        self.metalnet = MetalnetInNamespace(
            self.lab, self.ns, {"ctl": self.bridge}, self.workdir / "metalnet",
            extra_args=("--boot-dir", str(boot)),
        )
        self.metalnet.start()

    def close(self) -> None:
        for vm in self.vms:
            with contextlib.suppress(Exception):
                vm.stop()
        if self.metalnet is not None:
            with contextlib.suppress(Exception):
                self.metalnet.close()
        self.lab.close()  # tcpdump by PID, then the namespace with its bridge and taps

    # ------------------------------------------------------------------ setup

    def profile(self, name: str, initrd: str, cmdline: str) -> dict[str, Any]:
        response = self.api.post("/v1/boot-profiles", json={"boot_profile": {
            "name": name, "kernel": "vmlinuz", "initrds": [initrd], "cmdline": cmdline}})
        assert response.status_code == 201, response.text
        return response.json()["boot_profile"]  # type: ignore[no-any-return]

    def standard_profiles(self) -> None:
        """``target`` (prints the marker) and ``discovery`` (posts the inventory)."""
        self.profile("target", "target.img", "console=ttyS0 metalnet.after=stay")
        self.profile("discovery", "discovery.img",
                     f"console=ttyS0 metalnet.url=http://{self.server_ip}:8080/v1/discovery "
                     "metalnet.after=stay")

    def setup_network(self, policy: str, discovery_profile: str | None = None) -> dict[str, Any]:
        """The ``ctl`` network with ``policy`` and its subnet (pool .100-.199)."""
        body: dict[str, Any] = {"name": "ctl", "provider:physical_network": "ctl",
                                "provider:network_type": "flat", "unknown_mac_policy": policy}
        if discovery_profile is not None:
            body["discovery_profile"] = discovery_profile
        self.network = self.api.create("networks", body)
        prefix = f"198.18.{self.octet}"
        self.api.create("subnets", {
            "network_id": self.network["id"], "ip_version": 4, "cidr": f"{prefix}.0/24",
            "gateway_ip": None,
            "allocation_pools": [{"start": f"{prefix}.100", "end": f"{prefix}.199"}],
        })
        return self.network  # type: ignore[no-any-return]

    def vm(self, mac: str, uefi: bool = False, start: bool = True) -> Vm:
        """A tap on the bridge and a VM on it (powered on unless ``start`` is False)."""
        self._taps += 1
        tap = f"{self.lab.prefix}t{self._taps}"
        self.lab.ip("tuntap", "add", "dev", tap, "mode", "tap", namespace=self.ns)
        self.lab.ip("link", "set", tap, "master", self.bridge, namespace=self.ns)
        self.lab.ip("link", "set", tap, "up", namespace=self.ns)
        vm = Vm(self, mac, tap, self.workdir, uefi=uefi)
        self.vms.append(vm)
        if start:
            vm.start()
        return vm

    # ------------------------------------------------------------------ observing

    def log(self) -> str:
        return self.metalnet.log_tail(200_000) if self.metalnet is not None else ""

    def fetched(self, path: str) -> list[str]:
        """Lines of metalnet's log saying ``path`` was sent in full (HTTP or TFTP)."""
        return [line for line in self.log().splitlines()
                if "transfer.completed" in line and f" {path} " in line]

    def dhcp(self, mac: str) -> list[tuple[float, Packet]]:
        """Captured DHCP packets from or to ``mac``."""
        return [(t, p) for t, p in dhcp_packets(self.pcap) if p.mac == mac]

    def replies_to(self, mac: str, message_type: int) -> list[Packet]:
        return [p for _, p in self.dhcp(mac)
                if p.op == 2 and p.message_type is not None and int(p.message_type) == message_type]

    def wait(self, predicate: Callable[[], Any], timeout: float, what: str,
             vm: Vm | None = None) -> Any:
        """:func:`~tests.support.netns.wait_until`, failing with :meth:`report`."""
        try:
            return wait_until(predicate, timeout, interval=0.25, what=what)
        except AssertionError as exc:
            raise AssertionError(self.report(str(exc), vm)) from None

    def report(self, headline: str, vm: Vm | None = None) -> str:
        """A failure message: the headline, the VM's console and QEMU output, metalnet's log."""
        parts = [headline, f"(accel={self.accel})"]
        for one in [vm] if vm is not None else self.vms:
            parts += [f"--- serial console of {one.mac} (tail) ---", one.console()[-6000:],
                      f"--- qemu output of {one.mac} ---", one.qemu_log()]
        parts += ["--- metalnet serve log (tail) ---", self.log()[-6000:]]
        return "\n".join(parts)
