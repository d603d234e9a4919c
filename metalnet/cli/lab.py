"""``metalnet lab up|boot|status|down``: metalnet and PXE-booting VMs on one machine.

``up`` builds the boot images (``scripts/build-discovery-image.sh``, cached), makes a
network namespace ``mnlab`` with a bridge (198.18.64.1/24), runs ``metalnet serve`` on
it, configures a ``discover`` network with a discovery profile, a ``target`` profile and
an enrollment rule, then powers on N QEMU VMs (a tap each) and shows each VM's progress
live: DHCP -> boot files -> inventory -> enrolled -> (reset) -> profile booted.
``boot`` powers the VMs on again (from scratch) and watches; ``status`` shows the last
known state; ``down`` stops every process the lab started (by PID) and deletes the
namespace (and so its bridge and taps). State lives in ``--dir`` (``lab.json``).

Root only (namespaces, taps). Addresses are 198.18.64.0/24, inside the namespace only.
"""

from __future__ import annotations

import argparse
import contextlib
import ctypes
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import httpx

from metalnet.cli.client import CliError

T = TypeVar("T")
NAMESPACE = "mnlab"
BRIDGE = "mnlabbr0"
SERVER_IP = "198.18.64.1"
API = "http://127.0.0.1:9696"
DEFAULT_DIR = Path("/tmp/metalnet-lab")
STAGES = ("power-on", "DHCP", "boot files", "inventory", "enrolled", "profile booted")
_CLONE_NEWNET = 0x40000000


# ---------------------------------------------------------------------- plumbing

def _run(*argv: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(list(argv), capture_output=True, text=True, timeout=60,
                          stdin=subprocess.DEVNULL)
    if check and done.returncode != 0:
        raise CliError(f"{' '.join(argv)}: {done.stderr.strip() or done.stdout.strip()}")
    return done


def enter_namespace(namespace: str) -> None:
    """Move the calling thread into network namespace ``namespace`` (``setns(2)``).

    Python 3.11 has no ``os.setns``, so libc's is called through ctypes.

    :raises OSError: the namespace does not exist or cannot be joined.
    """
    libc = ctypes.CDLL(None, use_errno=True)
    fd = os.open(f"/run/netns/{namespace}", os.O_RDONLY | os.O_CLOEXEC)
    try:
        if libc.setns(fd, _CLONE_NEWNET) != 0:
            errno = ctypes.get_errno()
            raise OSError(errno, f"setns {namespace}: {os.strerror(errno)}")
    finally:
        os.close(fd)


def in_namespace(namespace: str, function: Callable[[], T]) -> T:
    """Run ``function`` on a short-lived thread inside ``namespace``; its result.

    A socket belongs to the namespace it was created in, whatever thread uses it later.
    """
    result: list[Any] = []

    def target() -> None:
        try:
            enter_namespace(namespace)
            result.append((True, function()))
        except BaseException as exc:  # handed back to the caller
            result.append((False, exc))

    thread = threading.Thread(target=target, name=f"netns-{namespace}")
    thread.start()
    thread.join()
    ok, value = result[0]
    if not ok:
        raise value
    return value  # type: ignore[no-any-return]


def _api(method: str, path: str, **kwargs: Any) -> Any:
    def call() -> Any:
        response = httpx.request(method, API + path, timeout=10, **kwargs)
        if response.status_code >= 400:
            raise CliError(f"{method} {path}: {response.status_code} {response.text[:300]}")
        return response.json() if response.content else None

    return in_namespace(NAMESPACE, call)


def _repo_root() -> Path:
    root = Path(__file__).resolve().parents[2]
    if not (root / "scripts" / "build-discovery-image.sh").exists():
        raise CliError("metalnet lab runs from a source checkout (scripts/ is not installed)")
    return root


def _accel(choice: str) -> str:
    if choice != "auto":
        return choice
    flags = Path("/proc/cpuinfo").read_text(errors="replace")
    usable = os.access("/dev/kvm", os.R_OK | os.W_OK)
    return "kvm" if usable and (" vmx" in flags or " svm" in flags) else "tcg"


def _mac(index: int) -> str:
    return f"52:54:00:6c:61:{index:02x}"


def _state_path(directory: Path) -> Path:
    return directory / "lab.json"


def _load(directory: Path) -> dict[str, Any]:
    try:
        return dict(json.loads(_state_path(directory).read_text()))
    except (OSError, ValueError):
        return {}


def _save(directory: Path, state: dict[str, Any]) -> None:
    _state_path(directory).write_text(json.dumps(state, indent=2))


def _stop_pid(pid: int | None, grace: float = 5.0) -> None:
    if not pid:
        return
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + grace
        while time.monotonic() < deadline:
            if _gone(pid):
                return
            time.sleep(0.1)
        os.kill(pid, signal.SIGKILL)
        _gone(pid)


def _gone(pid: int) -> bool:
    """Whether ``pid`` has exited; reaps it when it is this process's child (a zombie
    still answers signal 0)."""
    try:
        return os.waitpid(pid, os.WNOHANG)[0] == pid
    except ChildProcessError:  # started by an earlier command: init reaps it
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return True
        return False


# ---------------------------------------------------------------------- up / down

def _start_vm(directory: Path, state: dict[str, Any], index: int) -> None:
    vm = state["vms"][index]
    _stop_pid(vm.get("pid"), grace=2)
    serial = Path(vm["serial"])
    serial.unlink(missing_ok=True)
    Path(vm["monitor"]).unlink(missing_ok=True)
    argv = ["ip", "netns", "exec", NAMESPACE, "qemu-system-x86_64",
            "-machine", f"pc,accel={state['accel']}", "-m", "512", "-smp", "1",
            "-nographic", "-nodefaults", "-no-user-config", "-serial", f"file:{serial}",
            "-monitor", f"unix:{vm['monitor']},server,nowait",
            "-netdev", f"tap,id=n0,ifname={vm['tap']},script=no,downscript=no",
            "-device", f"virtio-net-pci,netdev=n0,mac={vm['mac']}",
            "-drive", f"file={vm['disk']},if=none,id=d0,format=raw",
            "-device", f"virtio-blk-pci,drive=d0,serial=LABDISK{index}",
            "-smbios", f"type=1,manufacturer=Metalnet Lab,product=lab VM,serial=LAB-{index}",
            "-boot", "n"]
    with open(directory / f"qemu-{index}.log", "ab") as log:
        process = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT,
                                   stdin=subprocess.DEVNULL, start_new_session=True)
    vm.update(pid=process.pid, powered_on=time.time(), reset=False, reached={})


def _up(args: argparse.Namespace) -> None:
    if os.geteuid() != 0:
        raise CliError("metalnet lab needs root (network namespaces and taps)")
    for tool in ("ip", "qemu-system-x86_64"):
        if shutil.which(tool) is None:
            raise CliError(f"{tool} is missing: run scripts/install-system-deps.sh")
    directory: Path = args.dir
    if _load(directory).get("namespace"):
        raise CliError(f"a lab is up (state in {directory}); run 'metalnet lab down' first")
    directory.mkdir(parents=True, exist_ok=True)
    root = _repo_root()
    print("building boot images (cached) ...", flush=True)
    built = _run("bash", str(root / "scripts" / "build-discovery-image.sh"))
    images = Path(built.stdout.strip().splitlines()[-1])
    boot = directory / "boot"
    boot.mkdir(exist_ok=True)
    for name in ("vmlinuz", "discovery.img", "target.img"):
        shutil.copyfile(images / name, boot / name)
    state: dict[str, Any] = {"namespace": NAMESPACE, "accel": _accel(args.accel), "vms": []}
    _save(directory, state)
    try:
        _run("ip", "netns", "add", NAMESPACE)
        _run("ip", "-n", NAMESPACE, "link", "set", "lo", "up")
        _run("ip", "-n", NAMESPACE, "link", "add", BRIDGE, "type", "bridge", "stp_state", "0",
             "forward_delay", "0")
        _run("ip", "-n", NAMESPACE, "addr", "add", f"{SERVER_IP}/24", "dev", BRIDGE)
        _run("ip", "-n", NAMESPACE, "link", "set", BRIDGE, "up")
        with open(directory / "serve.log", "ab") as log:
            serve = subprocess.Popen(
                ["ip", "netns", "exec", NAMESPACE, sys.executable, "-m", "metalnet", "serve",
                 "--state-dir", str(directory / "state"), "--boot-dir", str(boot),
                 "--interface", f"lab:{BRIDGE}"],
                stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                start_new_session=True)
        state["serve_pid"] = serve.pid
        _save(directory, state)
        deadline = time.monotonic() + 30
        while True:
            with contextlib.suppress(CliError, httpx.HTTPError):
                _api("GET", "/")
                break
            if serve.poll() is not None or time.monotonic() > deadline:
                raise CliError(f"metalnet serve did not start; see {directory / 'serve.log'}")
            time.sleep(0.2)
        _configure()
        for index in range(args.vms):
            tap = f"mnlabtap{index}"
            _run("ip", "-n", NAMESPACE, "tuntap", "add", "dev", tap, "mode", "tap")
            _run("ip", "-n", NAMESPACE, "link", "set", tap, "master", BRIDGE)
            _run("ip", "-n", NAMESPACE, "link", "set", tap, "up")
            disk = directory / f"disk-{index}.raw"
            with open(disk, "wb") as f:
                f.truncate(64 * 1024 * 1024)
            state["vms"].append({"mac": _mac(index), "tap": tap, "disk": str(disk),
                                 "serial": str(directory / f"serial-{index}.log"),
                                 "monitor": str(directory / f"monitor-{index}.sock")})
        _save(directory, state)
    except BaseException:
        _down_state(directory)
        raise
    print(f"lab up: namespace {NAMESPACE}, metalnet on {SERVER_IP} (API {API} inside it), "
          f"{args.vms} VM(s), accel {state['accel']}")
    print(f"  try: ip netns exec {NAMESPACE} metalnet discovered list")
    if not args.no_boot:
        _boot(args)


def _configure() -> None:
    for name, initrd, extra in (
        ("discovery", "discovery.img", f" metalnet.url=http://{SERVER_IP}:8080/v1/discovery"),
        ("target", "target.img", ""),
    ):
        _api("POST", "/v1/boot-profiles", json={"boot_profile": {
            "name": name, "kernel": "vmlinuz", "initrds": [initrd],
            "cmdline": f"console=ttyS0 metalnet.after=stay{extra}"}})
    network = _api("POST", "/v2.0/networks", json={"network": {
        "name": "lab", "provider:physical_network": "lab", "provider:network_type": "flat",
        "unknown_mac_policy": "discover", "discovery_profile": "discovery"}})["network"]
    _api("POST", "/v2.0/subnets", json={"subnet": {
        "network_id": network["id"], "ip_version": 4, "cidr": "198.18.64.0/24",
        "gateway_ip": None,
        "allocation_pools": [{"start": "198.18.64.100", "end": "198.18.64.199"}]}})
    _api("POST", "/v1/enrollment-rules", json={"enrollment_rule": {
        "name": "lab-vms", "priority": 10,
        "conditions": [{"field": "dmi.vendor", "op": "eq", "value": "Metalnet Lab"}],
        "actions": {"name_template": "lab-{dmi.serial}", "boot_profile": "target",
                    "attributes": {"lab": True}}}})


def _down_state(directory: Path) -> None:
    state = _load(directory)
    for vm in state.get("vms", []):
        _stop_pid(vm.get("pid"), grace=2)
    _stop_pid(state.get("serve_pid"), grace=10)
    if state.get("namespace"):
        _run("ip", "netns", "del", state["namespace"], check=False)
    _state_path(directory).unlink(missing_ok=True)


def _down(args: argparse.Namespace) -> None:
    if not _load(args.dir):
        print("no lab is up")
        return
    _down_state(args.dir)
    print("lab down: processes stopped, namespace deleted")


# ---------------------------------------------------------------------- watching

def _progress(vm: dict[str, Any]) -> dict[str, float]:
    """Stage -> seconds from power-on, from the VM's console and the API."""
    reached: dict[str, float] = vm.setdefault("reached", {})
    now = time.time() - vm["powered_on"]
    try:
        console = Path(vm["serial"]).read_bytes().decode("utf-8", "replace")
    except OSError:
        console = ""
    reached.setdefault("power-on", 0.0)
    checks = {"DHCP": "net0: 198.18.", "boot files": ".img... ok",
              "inventory": "METALNET-INVENTORY-POSTED", "profile booted": "METALNET-PROFILE-BOOTED"}
    for stage, marker in checks.items():
        if stage not in reached and marker in console:
            reached[stage] = now
    if "enrolled" not in reached and "inventory" in reached:
        with contextlib.suppress(CliError, httpx.HTTPError):
            found = _api("GET", "/v1/discovered", params={"mac": vm["mac"]})["discovered"]
            if found and found[0]["state"] == "enrolled":
                reached["enrolled"] = now
                vm["name"] = found[0]["name"]
    return reached


def _line(index: int, vm: dict[str, Any]) -> str:
    reached = vm.get("reached", {})
    marks = "  ".join(
        f"{stage} {reached[stage]:5.1f}s" if stage in reached
        else f"{stage} ...".ljust(len(stage) + 7)
        for stage in STAGES[1:]
    )
    return f"vm{index} {vm['mac']} {vm.get('name', ''):14} {marks}"


def _watch(directory: Path, state: dict[str, Any], timeout: float) -> bool:
    tty = sys.stdout.isatty()
    shown: list[str] = []
    deadline = time.monotonic() + timeout
    while True:
        for vm in state["vms"]:
            reached = _progress(vm)
            if "enrolled" in reached and not vm.get("reset"):
                # Next boot: the enrolled machine boots the rule's profile.
                with contextlib.suppress(OSError), socket.socket(socket.AF_UNIX) as sock:
                    sock.settimeout(5)
                    sock.connect(vm["monitor"])
                    sock.sendall(b"system_reset\n")
                    time.sleep(0.3)  # QEMU drops a command whose connection closed at once
                    vm["reset"] = True
        lines = [_line(i, vm) for i, vm in enumerate(state["vms"])]
        if tty:
            if shown:
                sys.stdout.write(f"\x1b[{len(shown)}F")
            sys.stdout.write("".join(f"\x1b[2K{line}\n" for line in lines))
            sys.stdout.flush()
        else:
            for line in lines:
                if line not in shown:
                    print(line, flush=True)
        shown = lines
        _save(directory, state)
        if all("profile booted" in vm.get("reached", {}) for vm in state["vms"]):
            return True
        if time.monotonic() > deadline:
            return False
        time.sleep(0.5)


def _boot(args: argparse.Namespace) -> None:
    state = _load(args.dir)
    if not state.get("vms"):
        raise CliError("no lab is up: run 'metalnet lab up'")
    for index in range(len(state["vms"])):
        _start_vm(args.dir, state, index)
    _save(args.dir, state)
    print(f"powered on {len(state['vms'])} VM(s); stages are seconds from power-on")
    if _watch(args.dir, state, args.timeout):
        print("every VM booted its profile")
    else:
        raise CliError(f"not every VM reached its profile within {args.timeout:.0f} s; "
                       f"consoles: {args.dir}/serial-*.log, server: {args.dir}/serve.log")


def _status(args: argparse.Namespace) -> None:
    state = _load(args.dir)
    if not state.get("vms"):
        print("no lab is up")
        return
    for index, vm in enumerate(state["vms"]):
        print(_line(index, vm))


def add_lab_commands(subparsers: Any) -> None:
    """Register ``lab up|boot|status|down``."""
    lab = subparsers.add_parser("lab", help="metalnet and PXE-booting VMs on this machine")
    verbs = lab.add_subparsers(dest="action", required=True)
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--dir", type=Path, default=DEFAULT_DIR, help="lab state and logs")
    watch = argparse.ArgumentParser(add_help=False)
    watch.add_argument("--timeout", type=float, default=300.0, help="seconds to wait for the VMs")
    up = verbs.add_parser("up", parents=[common, watch], help="build, serve, boot N VMs")
    up.add_argument("--vms", type=int, default=2)
    up.add_argument("--accel", choices=["auto", "kvm", "tcg"], default="auto")
    up.add_argument("--no-boot", action="store_true", help="set up only; 'lab boot' later")
    up.set_defaults(handler=_up)
    boot = verbs.add_parser("boot", parents=[common, watch], help="power the VMs on and watch")
    boot.set_defaults(handler=_boot)
    status = verbs.add_parser("status", parents=[common], help="the last known progress")
    status.set_defaults(handler=_status)
    down = verbs.add_parser("down", parents=[common], help="stop everything, delete the namespace")
    down.set_defaults(handler=_down)
