"""Network namespaces for integration tests: namespaces, veth pairs, a bridge,
sockets and HTTP clients inside a namespace, and ``metalnet serve`` run in one.

    with NetnsLab() as lab:                       # everything is deleted on exit
        srv = lab.namespace("srv")
        cli = lab.namespace("cli")
        s_if, c_if = lab.veth(srv, cli, "198.18.10.1/24", mac_b="52:54:00:aa:bb:01")
        with MetalnetInNamespace(lab, srv, {"ctl": s_if}, tmp_path) as mn:
            mn.api.post("/v2.0/networks", json={...})
            lab.run(cli, ["udhcpc", "-i", c_if, ...])

Names are unique per lab (``mn`` + 6 random hex digits + a role suffix), so labs of
concurrent tests (or a lab left behind by a crashed run) never collide. Every link
made here lives inside a namespace of the lab: deleting the namespaces (always,
in ``__exit__``, even on failure) deletes every link; nothing is added to the
host's own namespace.

Sockets and HTTP clients "inside" a namespace are created on a thread that has
joined the namespace with ``setns(2)`` (:func:`metalnet.cli.lab.enter_namespace`):
a socket belongs to the namespace it was created in, whatever thread uses it later.

On top of these, for the DHCP tests:

* :class:`Udhcpc`, :class:`Dhclient`, :class:`Dhcpcd` run the real clients with
  hook scripts of their own that record the environment they get (nothing is
  written outside the namespace and the test's directory, except dhcpcd's lease
  file in /var/lib/dhcpcd, deleted after each run); each skips the calling test
  when its binary is missing;
* :class:`DhcpProbe` sends requests built with :mod:`metalnet.wire.dhcp4` from
  0.0.0.0:68 (or a relay's address:67) and collects replies by xid, with the
  destination address each reply was sent to;
* :class:`DhcpSite` is a server namespace with one bridge per served physical
  network and its network/subnet created through the API; :meth:`DhcpSite.sync`
  waits until the DHCP view has every change made through the API so far.

Only 198.18.0.0/15 addresses are ever assigned.
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import ipaddress
import os
import secrets
import shutil
import signal
import socket
import sqlite3
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import httpx
import pytest

from metalnet.cli.lab import enter_namespace, in_namespace
from tests.support.server import ServerProcess, serve_argv, stop_process

T = TypeVar("T")

BENCH_NET = ipaddress.IPv4Network("198.18.0.0/15")


def skip_unless_netns(*binaries: str) -> None:
    """Skip the calling test unless root, ``ip`` and every given binary are there."""
    if os.geteuid() != 0:
        pytest.skip("network namespaces need root")
    for binary in ("ip", *binaries):
        if shutil.which(binary) is None:
            pytest.skip(f"{binary} is not installed (scripts/install-system-deps.sh)")


def _check_address(cidr: str) -> None:
    if ipaddress.IPv4Interface(cidr).ip not in BENCH_NET:
        raise ValueError(f"{cidr}: tests only use 198.18.0.0/15")


def udp_socket(
    namespace: str,
    bind: tuple[str, int] = ("0.0.0.0", 0),
    device: str | None = None,
    broadcast: bool = True,
) -> socket.socket:
    """A UDP socket created in ``namespace``, bound to ``bind`` (and ``device``)."""

    def make() -> socket.socket:
        sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            if broadcast:
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_BROADCAST, 1)
            if device is not None:
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_BINDTODEVICE, device.encode())
            sock.bind(bind)
        except BaseException:
            sock.close()
            raise
        return sock

    return in_namespace(namespace, make)


class NamespaceHttp:
    """An ``httpx.Client`` whose connections are made inside a namespace.

    Every call runs on one worker thread that joined the namespace first, so the
    sockets the client opens are the namespace's. Methods mirror httpx's.
    """

    def __init__(self, namespace: str, base_url: str, timeout: float = 10.0) -> None:
        self._pool = concurrent.futures.ThreadPoolExecutor(
            max_workers=1, thread_name_prefix=f"http-{namespace}",
            initializer=enter_namespace, initargs=(namespace,),
        )
        self._client = self._pool.submit(
            lambda: httpx.Client(base_url=base_url, timeout=timeout)
        ).result()

    def request(self, method: str, url: str, **kwargs: Any) -> httpx.Response:
        return self._pool.submit(self._client.request, method, url, **kwargs).result()

    def get(self, url: str, **kwargs: Any) -> httpx.Response:
        return self.request("GET", url, **kwargs)

    def post(self, url: str, **kwargs: Any) -> httpx.Response:
        return self.request("POST", url, **kwargs)

    def put(self, url: str, **kwargs: Any) -> httpx.Response:
        return self.request("PUT", url, **kwargs)

    def delete(self, url: str, **kwargs: Any) -> httpx.Response:
        return self.request("DELETE", url, **kwargs)

    def create(self, collection: str, body: dict[str, Any]) -> dict[str, Any]:
        """POST a Neutron resource (``networks``, ``subnets``, ``ports``); the created one.

        :raises AssertionError: the answer is not 201.
        """
        singular = collection[:-1]
        response = self.post(f"/v2.0/{collection}", json={singular: body})
        assert response.status_code == 201, f"{collection}: {response.status_code} {response.text}"
        return response.json()[singular]  # type: ignore[no-any-return]

    def update(self, collection: str, resource_id: str, body: dict[str, Any]) -> dict[str, Any]:
        """PUT changes to a Neutron resource; the updated one (asserts 200)."""
        singular = collection[:-1]
        response = self.put(f"/v2.0/{collection}/{resource_id}", json={singular: body})
        assert response.status_code == 200, f"{collection}: {response.status_code} {response.text}"
        return response.json()[singular]  # type: ignore[no-any-return]

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self._pool.submit(self._client.close).result(5)
        self._pool.shutdown(wait=True)


class NetnsLab:
    """Namespaces and links for one test; all of it deleted on exit.

    :param prefix: the start of every name (``mn`` + random hex by default).
    """

    def __init__(self, prefix: str | None = None) -> None:
        self.prefix = prefix or f"mn{secrets.token_hex(3)}"
        self.namespaces: list[str] = []
        self._processes: list[subprocess.Popen[bytes]] = []
        self._links = 0

    def __enter__(self) -> NetnsLab:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    # ------------------------------------------------------------------ building

    def ip(self, *args: str, namespace: str | None = None) -> None:
        """Run ``ip [-n NS] ARGS``; raise with its stderr when it fails."""
        argv = ["ip", *(["-n", namespace] if namespace else []), *args]
        done = subprocess.run(argv, capture_output=True, text=True, timeout=10)
        if done.returncode != 0:
            raise RuntimeError(f"{' '.join(argv)}: {done.stderr.strip()}")

    def namespace(self, role: str) -> str:
        """A new namespace with ``lo`` up; its name."""
        name = f"{self.prefix}-{role}"
        self.ip("netns", "add", name)
        self.namespaces.append(name)
        self.ip("link", "set", "lo", "up", namespace=name)
        return name

    def _link_name(self, role: str) -> str:
        self._links += 1
        name = f"{self.prefix}{role}{self._links}"
        if len(name) > 15:
            raise ValueError(f"{name}: interface names are at most 15 characters")
        return name

    def veth(
        self,
        ns_a: str,
        ns_b: str,
        address_a: str | None = None,
        address_b: str | None = None,
        mac_b: str | None = None,
    ) -> tuple[str, str]:
        """A veth pair from ``ns_a`` to ``ns_b``, both ends up; their names."""
        a, b = self._link_name("a"), self._link_name("b")
        args = ["link", "add", a, "netns", ns_a, "type", "veth", "peer", "name", b, "netns", ns_b]
        self.ip(*args)
        self._configure(ns_a, a, address_a, None)
        self._configure(ns_b, b, address_b, mac_b)
        return a, b

    def _configure(self, ns: str, dev: str, address: str | None, mac: str | None) -> None:
        if mac is not None:
            self.ip("link", "set", dev, "address", mac, namespace=ns)
        if address is not None:
            self.add_address(ns, dev, address)
        self.ip("link", "set", dev, "up", namespace=ns)

    def bridge(self, ns: str, address: str | None = None) -> str:
        """A bridge in ``ns`` (no STP, no forwarding delay), up; its name."""
        name = self._link_name("br")
        self.ip("link", "add", name, "type", "bridge", "stp_state", "0", "forward_delay", "0",
                namespace=ns)
        self._configure(ns, name, address, None)
        return name

    def client_on_bridge(self, bridge_ns: str, bridge: str, role: str, mac: str) -> tuple[str, str]:
        """A new namespace joined to ``bridge`` by a veth whose client end has ``mac``.

        :returns: (namespace, client interface).
        """
        ns = self.namespace(role)
        port, client = self.veth(bridge_ns, ns, mac_b=mac)
        self.ip("link", "set", port, "master", bridge, namespace=bridge_ns)
        return ns, client

    def add_address(self, ns: str, dev: str, address: str) -> None:
        """Add ``address`` (CIDR, in 198.18.0.0/15) to ``dev`` in ``ns``."""
        _check_address(address)
        self.ip("addr", "add", address, "dev", dev, namespace=ns)

    def add_route(self, ns: str, destination: str, via: str) -> None:
        _check_address(destination)
        _check_address(via)
        self.ip("route", "add", destination, "via", via, namespace=ns)

    # ------------------------------------------------------------------ running

    def run(
        self, ns: str, argv: list[str], timeout: float = 30.0, **kwargs: Any
    ) -> subprocess.CompletedProcess[str]:
        """Run a command inside ``ns`` to completion (killed after ``timeout``)."""
        return subprocess.run(
            ["ip", "netns", "exec", ns, *argv], capture_output=True, text=True,
            timeout=timeout, stdin=subprocess.DEVNULL, **kwargs,
        )

    def spawn(self, ns: str, argv: list[str], **kwargs: Any) -> subprocess.Popen[bytes]:
        """Start a command inside ``ns``; it is stopped (by its PID) when the lab closes.

        ``ip netns exec`` execs the command, so the PID is the command's own.
        """
        kwargs.setdefault("stdin", subprocess.DEVNULL)
        process = subprocess.Popen(["ip", "netns", "exec", ns, *argv], **kwargs)
        self._processes.append(process)
        return process

    stop = staticmethod(stop_process)

    def close(self) -> None:
        """Stop the lab's processes, then delete its namespaces (and so its links)."""
        for process in reversed(self._processes):
            with contextlib.suppress(Exception):
                self.stop(process, grace=3.0)
        self._processes.clear()
        for name in reversed(self.namespaces):
            with contextlib.suppress(Exception):
                self._kill_leftovers(name)
            subprocess.run(["ip", "netns", "del", name], capture_output=True, timeout=10)
        self.namespaces.clear()

    @staticmethod
    def _kill_leftovers(name: str) -> None:
        """SIGKILL processes a client daemonised inside the namespace (by their PIDs)."""
        done = subprocess.run(["ip", "netns", "pids", name], capture_output=True, text=True,
                              timeout=10)
        for pid in done.stdout.split():
            with contextlib.suppress(ProcessLookupError, ValueError):
                os.kill(int(pid), signal.SIGKILL)


def wait_until(predicate: Callable[[], T], timeout: float, interval: float = 0.05,
               what: str = "condition") -> T:
    """Poll ``predicate`` until it returns something truthy; that value.

    :raises AssertionError: ``timeout`` seconds passed.
    """
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} not reached within {timeout} s")
        time.sleep(interval)


class MetalnetInNamespace:
    """``metalnet serve`` inside a namespace, with an API client reaching it there.

    The API listens on 127.0.0.1 in the namespace (so it runs without auth, as on
    any loopback listen); :attr:`api` is a :class:`NamespaceHttp` to it.

    :param interfaces: physical network -> interface, passed as ``--interface``.
    :param workdir: state directory and log file live here (reused on restart).
    """

    def __init__(
        self,
        lab: NetnsLab,
        ns: str,
        interfaces: dict[str, str],
        workdir: Path,
        extra_args: tuple[str, ...] = (),
        api_port: int = 9696,
    ) -> None:
        self.lab = lab
        self.ns = ns
        self.interfaces = interfaces
        self.workdir = workdir
        self.state_dir = workdir / "state"
        self.extra_args = extra_args
        self.api_port = api_port
        self.url = f"http://127.0.0.1:{api_port}"
        self.process: ServerProcess | None = None
        self.api: NamespaceHttp | None = None
        self.log_path = workdir / "serve.log"

    def __enter__(self) -> MetalnetInNamespace:
        self.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    def log_tail(self, limit: int = 4000) -> str:
        return self.process.log_tail(limit) if self.process is not None else ""

    def start(self, ready_timeout: float = 30.0) -> None:
        """Start the server and wait until the API answers (and DHCP sockets are open).

        :raises tests.support.server.ServerError: it did not come up (it is stopped).
        """
        self.workdir.mkdir(parents=True, exist_ok=True)
        argv = serve_argv(self.api_port, self.state_dir, *self.extra_args)
        for physnet, iface in self.interfaces.items():
            argv += ["--interface", f"{physnet}:{iface}"]
        with open(self.log_path, "ab") as log:
            popen = self.lab.spawn(self.ns, argv, stdout=log, stderr=subprocess.STDOUT)
        self.process = ServerProcess(self.url, popen, self.log_path)
        if self.api is None:
            self.api = NamespaceHttp(self.ns, self.url)
        try:
            self.process.wait_ready(ready_timeout, get=self.api.get)
        except BaseException:
            self.stop()
            raise

    def alive(self) -> bool:
        return self.process is not None and self.process.alive()

    def kill(self) -> None:
        """SIGKILL the server (a crash); the API client is kept for a restart."""
        if self.process is not None:
            self.process.stop(sig=signal.SIGKILL)

    def stop(self) -> int | None:
        """SIGTERM the server (SIGKILL after a grace period); its exit status."""
        return self.process.stop(grace=10.0) if self.process is not None else None

    def close(self) -> int | None:
        """Close the API client, then stop the server; its exit status."""
        if self.api is not None:
            self.api.close()
            self.api = None
        return self.stop()


# ---------------------------------------------------------------------- DHCP clients

_DUMP_SCRIPT = """#!/bin/sh
# Records what the DHCP client hands its script; changes nothing outside the namespace.
{ echo "reason=${1:-$reason}"; env; echo "----"; } >> "%(out)s"
%(configure)s
exit 0
"""

# udhcpc leaves configuring the address to its script; a renew (SIGUSR1) is a
# unicast from the leased address, so the script must put it on the interface
# (inside the client's namespace only).
_UDHCPC_CONFIGURE = """case "$1" in
  bound|renew) ip addr replace "$ip/${mask:-24}" dev "$interface" ;;
esac"""


def write_script(path: Path, out: Path, configure: str = "") -> Path:
    """A client hook script that appends its environment to ``out``; its path."""
    path.write_text(_DUMP_SCRIPT % {"out": out, "configure": configure})
    path.chmod(0o755)
    return path


def read_records(out: Path) -> list[dict[str, str]]:
    """The environments a dump script recorded, oldest first."""
    try:
        text = out.read_text(errors="replace")
    except FileNotFoundError:
        return []
    records: list[dict[str, str]] = []
    current: dict[str, str] = {}
    for line in text.splitlines():
        if line == "----":
            records.append(current)
            current = {}
        elif "=" in line:
            key, _, value = line.partition("=")
            current.setdefault(key, value)
    return records


def last_record(out: Path, *reasons: str) -> dict[str, str] | None:
    """The newest recorded environment whose reason is one of ``reasons``."""
    for record in reversed(read_records(out)):
        if record.get("reason") in reasons:
            return record
    return None


class _HookedClient:
    """A DHCP client program on ``iface`` in ``ns`` whose hook script records into
    :attr:`out`; its files are ``workdir/PROGRAM-IFACE.SUFFIX`` (see :meth:`file`).

    The calling test is skipped when the program is missing.

    :param configure: shell lines the hook script runs after recording.
    """

    program: str

    def __init__(
        self, lab: NetnsLab, ns: str, iface: str, workdir: Path, configure: str = ""
    ) -> None:
        skip_unless_netns(self.program)
        self.lab, self.ns, self.iface, self.workdir = lab, ns, iface, workdir
        self.out = self.file("env")
        self.script = write_script(self.file("sh"), self.out, configure)

    def file(self, suffix: str) -> Path:
        """This client's ``workdir/PROGRAM-IFACE.suffix``."""
        return self.workdir / f"{self.program}-{self.iface}.{suffix}"


class Udhcpc(_HookedClient):
    """busybox udhcpc in a namespace; its script records into ``workdir/udhcpc-IF.env``.

    One-shot: ``-n -q`` (exit after the lease, fail when none). Staying: ``-n`` only,
    so SIGUSR1 renews; stop it with :meth:`stop`.
    """

    program = "udhcpc"

    def __init__(self, lab: NetnsLab, ns: str, iface: str, workdir: Path) -> None:
        super().__init__(lab, ns, iface, workdir, _UDHCPC_CONFIGURE)
        self.process: subprocess.Popen[bytes] | None = None

    def argv(self, *extra: str) -> list[str]:
        # -t 4 -T 1: four DISCOVERs a second apart; -O asks for 66/67 (udhcpc
        # exports known options it receives either way, as $tftp and $bootfile).
        return ["udhcpc", "-i", self.iface, "-n", "-f", "-s", str(self.script),
                "-t", "4", "-T", "1", "-A", "1", "-O", "bootfile", "-O", "tftp", *extra]

    def once(self, *extra: str, timeout: float = 15.0) -> dict[str, str] | None:
        """Run to completion with ``-q``; the ``bound`` environment or None."""
        done = self.lab.run(self.ns, self.argv("-q", *extra), timeout=timeout)
        record = last_record(self.out, "bound")
        if record is None and done.returncode == 0:
            raise AssertionError(f"udhcpc exited 0 without a bound record: {done.stderr}")
        return record

    def start(self, *extra: str) -> None:
        self.process = self.lab.spawn(self.ns, self.argv(*extra), stdout=subprocess.DEVNULL,
                                      stderr=subprocess.DEVNULL)

    def stop(self) -> None:
        if self.process is not None:
            stop_process(self.process)


class Dhclient(_HookedClient):
    """ISC dhclient in a namespace, with its own lease, pid, config and script files.

    It runs in the foreground (``-d``) and is stopped by its PID once the script
    has recorded one of the wanted reasons, so it never forks into a daemon and
    never runs ``/sbin/dhclient-script`` (which would write ``/etc/resolv.conf``).
    """

    program = "dhclient"

    def __init__(self, lab: NetnsLab, ns: str, iface: str, workdir: Path) -> None:
        super().__init__(lab, ns, iface, workdir)
        self.leases = self.file("leases")
        self.leases.touch()
        self.log = self.file("log")
        self.config = self.file("conf")
        self.config.write_text(
            "request subnet-mask, broadcast-address, routers, domain-name-servers,\n"
            "        dhcp-lease-time, tftp-server-name, bootfile-name;\n")

    def run(self, reasons: tuple[str, ...] = ("BOUND", "REBOOT"),
            timeout: float = 15.0) -> dict[str, str] | None:
        """Run until the script records one of ``reasons`` (or ``timeout``); that record."""
        seen = len(read_records(self.out))
        argv = ["dhclient", "-4", "-1", "-d", "-v", "-cf", str(self.config),
                "-lf", str(self.leases), "-pf", str(self.file("pid")),
                "-sf", str(self.script), self.iface]
        with open(self.log, "ab") as log:
            process = self.lab.spawn(self.ns, argv, stdout=log, stderr=subprocess.STDOUT)

        def done() -> dict[str, str] | None:
            for record in read_records(self.out)[seen:]:
                if record.get("reason") in reasons:
                    return record
            return None

        try:
            deadline = time.monotonic() + timeout
            while time.monotonic() < deadline and process.poll() is None:
                record = done()
                if record:
                    return record
                time.sleep(0.05)
            return done()
        finally:
            stop_process(process)

    def log_text(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""


class Dhcpcd(_HookedClient):
    """dhcpcd (dhcpcd-base) one-shot in a namespace: ``-1 -4 -B -A`` with its own
    config and script (``-c``), so no hook writes a system file. It keeps its lease in
    ``/var/lib/dhcpcd/IFACE.lease`` (no option moves it); :meth:`clean_up` deletes it.
    """

    program = "dhcpcd"
    DBDIR = Path("/var/lib/dhcpcd")

    def __init__(self, lab: NetnsLab, ns: str, iface: str, workdir: Path) -> None:
        super().__init__(lab, ns, iface, workdir)
        self.config = self.file("conf")
        self.config.write_text("option bootfile_name, tftp_server_name\n")

    def once(self, timeout: float = 20.0) -> tuple[dict[str, str] | None, str]:
        """Run until bound and exit (-1); the BOUND environment and the log."""
        argv = ["dhcpcd", "-f", str(self.config), "-c", str(self.script), "-4", "-1", "-B",
                "-A", "-t", "10", self.iface]
        # Output to a file, not a pipe: dhcpcd's privilege-separated helpers may
        # hold a pipe open after the main process exits.
        log = self.file("log")
        try:
            with open(log, "wb") as sink:
                process = self.lab.spawn(self.ns, argv, stdout=sink, stderr=subprocess.STDOUT)
            try:
                process.wait(timeout)
            except subprocess.TimeoutExpired:
                stop_process(process)
        finally:
            self.clean_up()
        return last_record(self.out, "BOUND"), log.read_text(errors="replace")

    def clean_up(self) -> None:
        for path in self.DBDIR.glob(f"{self.iface}*.lease*"):
            with contextlib.suppress(OSError):
                path.unlink()


# ---------------------------------------------------------------------- crafted packets

def mac_bytes(mac: str) -> bytes:
    return bytes.fromhex(mac.replace(":", ""))


def ip_int(text: str) -> int:
    return int(ipaddress.IPv4Address(text))


def ip_text(value: int) -> str:
    return str(ipaddress.IPv4Address(value))


def request_packet(
    mac: str,
    message_type: int,
    *,
    xid: int | None = None,
    secs: int = 0,
    flags: int = 0x8000,
    ciaddr: int = 0,
    giaddr: int = 0,
    hops: int = 0,
    options: dict[int, bytes] | None = None,
) -> Any:
    """A client request (``Packet``) with option 53 first and 55 asking for boot options."""
    from metalnet.wire.dhcp4 import Options, Packet

    items = {53: bytes([message_type]), 55: bytes([1, 3, 6, 15, 51, 54, 58, 59, 66, 67])}
    items.update(options or {})
    return Packet(
        op=1, xid=secrets.randbits(32) if xid is None else xid, secs=secs, flags=flags,
        ciaddr=ciaddr, giaddr=giaddr, hops=hops, chaddr=mac_bytes(mac), options=Options(items),
    )


IP_PKTINFO = getattr(socket, "IP_PKTINFO", 8)


@dataclass(frozen=True)
class Received:
    """A decoded reply, who sent it and the destination address of its IP header."""

    packet: Any
    source: tuple[str, int]
    destination: str


class DhcpProbe:
    """A client socket on ``address:port`` (0.0.0.0:68) in a namespace, bound to its
    interface; sends crafted requests and collects replies by xid.

    Replies are BOOTREPLYs decoded with ``Packet.from_wire``; anything undecodable
    or with another xid is skipped. ``IP_PKTINFO`` gives each reply's destination
    address, so a test can tell a broadcast reply from a unicast one.
    """

    def __init__(self, ns: str, device: str | None, port: int = 68,
                 address: str = "0.0.0.0") -> None:
        self.sock = udp_socket(ns, (address, port), device=device)
        self.sock.setsockopt(socket.IPPROTO_IP, IP_PKTINFO, 1)
        self.sock.settimeout(0.05)

    def close(self) -> None:
        self.sock.close()

    def __enter__(self) -> DhcpProbe:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    def send(self, packet: Any, destination: tuple[str, int] = ("255.255.255.255", 67)) -> None:
        """Send a ``Packet`` (or raw bytes)."""
        data = packet if isinstance(packet, bytes | bytearray) else packet.to_wire()
        self.sock.sendto(bytes(data), destination)

    def receive(self, xid: int, timeout: float) -> Received | None:
        """The first reply with ``xid``; None after ``timeout`` seconds."""
        from metalnet.wire.dhcp4 import Packet
        from metalnet.wire.errors import WireError

        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                data, ancillary, _flags, source = self.sock.recvmsg(4096, 256)
            except TimeoutError:
                continue
            try:
                packet = Packet.from_wire(data)
            except WireError:
                continue
            if packet.op != 2 or packet.xid != xid:
                continue
            destination = ""
            for level, kind, value in ancillary:
                if level == socket.IPPROTO_IP and kind == IP_PKTINFO and len(value) >= 12:
                    destination = socket.inet_ntoa(value[8:12])
            return Received(packet, source, destination)
        return None

    def exchange_full(
        self,
        packet: Any,
        timeout: float = 2.0,
        destination: tuple[str, int] = ("255.255.255.255", 67),
        retry: float = 0.5,
    ) -> Received | None:
        """Send ``packet`` every ``retry`` seconds until a reply comes; the reply or None."""
        deadline = time.monotonic() + timeout
        while True:
            self.send(packet, destination)
            left = deadline - time.monotonic()
            got = self.receive(packet.xid, min(retry, max(left, 0.0)))
            if got is not None:
                return got
            if time.monotonic() >= deadline:
                return None

    def exchange(
        self,
        packet: Any,
        timeout: float = 2.0,
        destination: tuple[str, int] = ("255.255.255.255", 67),
        retry: float = 0.5,
    ) -> Any | None:
        """Like :meth:`exchange_full`; only the reply packet."""
        got = self.exchange_full(packet, timeout, destination, retry)
        return None if got is None else got.packet

    def lease(self, mac: str, timeout: float = 3.0, **fields: Any) -> tuple[Any, Any]:
        """DISCOVER, then REQUEST the offered address (SELECTING); (offer, ack).

        :raises AssertionError: no OFFER, or no answer to the REQUEST.
        """
        from metalnet.wire.dhcp4.options import encode_ip

        extra = fields.pop("options", {})
        discover = request_packet(mac, 1, options=extra, **fields)
        offer = self.exchange(discover, timeout)
        assert offer is not None, f"{mac}: no OFFER"
        request = request_packet(mac, 3, xid=discover.xid, options={
            50: encode_ip(offer.yiaddr), 54: offer.options[54], **extra}, **fields)
        ack = self.exchange(request, timeout)
        assert ack is not None, f"{mac}: no answer to REQUEST"
        return offer, ack


# ---------------------------------------------------------------------- a DHCP site

def random_mac() -> str:
    """A random locally administered unicast MAC."""
    return "52:54:" + ":".join(f"{b:02x}" for b in secrets.token_bytes(4))


@dataclass
class Segment:
    """One served physical network: a bridge in the server namespace and its network."""

    physnet: str
    bridge: str
    interface: ipaddress.IPv4Interface
    network: dict[str, Any] = field(default_factory=dict)
    subnet: dict[str, Any] = field(default_factory=dict)

    @property
    def server_ip(self) -> str:
        return str(self.interface.ip)

    def host(self, index: int) -> str:
        """The ``index``-th address of the segment's subnet."""
        return str(self.interface.network.network_address + index)


class DhcpSite:
    """``metalnet serve`` in a server namespace, serving one bridge per segment.

    Each segment ``name -> (cidr, policy)`` gets a bridge with the subnet's first
    address, a network on physical network ``name`` with that unknown-MAC policy,
    and a subnet whose allocation pool is ``.100``-``.199`` (gateway ``.1``, DNS
    ``.53``). Clients are namespaces joined to a bridge.
    """

    def __init__(
        self,
        lab: NetnsLab,
        workdir: Path,
        segments: dict[str, tuple[str, str]],
        extra_args: tuple[str, ...] = (),
    ) -> None:
        self.lab = lab
        self.workdir = workdir
        self.ns = lab.namespace("srv")
        self.segments: dict[str, Segment] = {}
        for name, (cidr, _policy) in segments.items():
            network = ipaddress.IPv4Network(cidr)
            first = network.network_address + 1
            interface = ipaddress.IPv4Interface(f"{first}/{network.prefixlen}")
            bridge = lab.bridge(self.ns, str(interface))
            self.segments[name] = Segment(name, bridge, interface)
        self.server = MetalnetInNamespace(
            lab, self.ns, {s.physnet: s.bridge for s in self.segments.values()}, workdir,
            extra_args,
        )
        self.server.start()
        for name, (_cidr, policy) in segments.items():
            self.add_network(self.segments[name], policy)
        self._clients = 0
        self._syncs = 0
        sentinel_segment = next(iter(self.segments))
        self._sentinel_mac = random_mac()
        self._sentinel = self.port(sentinel_segment, self._sentinel_mac, 250,
                                   {"bootfile-name": "sync-0"}, sync=False)
        self._sentinel_probe = DhcpProbe(*self.client(sentinel_segment, self._sentinel_mac))
        self.sync()

    @property
    def api(self) -> NamespaceHttp:
        assert self.server.api is not None
        return self.server.api

    def add_network(self, segment: Segment, policy: str) -> None:
        segment.network = self.api.create("networks", {
            "name": segment.physnet, "provider:network_type": "flat",
            "provider:physical_network": segment.physnet, "unknown_mac_policy": policy,
        })
        segment.subnet = self.api.create("subnets", {
            "network_id": segment.network["id"], "ip_version": 4,
            "cidr": str(segment.interface.network), "gateway_ip": segment.host(1),
            "dns_nameservers": [segment.host(53)],
            "allocation_pools": [{"start": segment.host(100), "end": segment.host(199)}],
        })

    def port(
        self,
        segment: str,
        mac: str,
        host: int | None,
        extra_dhcp_opts: dict[str, str] | None = None,
        sync: bool = True,
        **fields: Any,
    ) -> dict[str, Any]:
        """A port for ``mac`` on the segment's network with address ``.host`` (None: no
        fixed IP) and these ``extra_dhcp_opts`` (name -> value); with ``sync``, once the
        DHCP view has it (see :meth:`sync`)."""
        seg = self.segments[segment]
        body: dict[str, Any] = {
            "network_id": seg.network["id"], "mac_address": mac,
            "fixed_ips": [] if host is None else [
                {"subnet_id": seg.subnet["id"], "ip_address": seg.host(host)}],
            **fields,
        }
        if extra_dhcp_opts:
            body["extra_dhcp_opts"] = [
                {"opt_name": k, "opt_value": v} for k, v in extra_dhcp_opts.items()]
        port = self.api.create("ports", body)
        if sync:
            self.sync()
        return port

    def sync(self, timeout: float = 5.0) -> float:
        """Wait until the server's view has every change made so far; seconds waited.

        The API answers once a change is committed; the DHCP view applies it a
        moment later (the feed follower). A barrier: change the boot file of a
        sentinel port, then DISCOVER for it until the new name comes back; the
        view applies changes in revision order, so all earlier ones are in too.
        """
        self._syncs += 1
        token = f"sync-{self._syncs}".encode()
        self.api.update("ports", self._sentinel["id"], {"extra_dhcp_opts": [
            {"opt_name": "bootfile-name", "opt_value": token.decode()}]})
        start = time.monotonic()
        while time.monotonic() - start < timeout:
            packet = request_packet(self._sentinel_mac, 1)
            self._sentinel_probe.send(packet)
            got = self._sentinel_probe.receive(packet.xid, 0.1)
            if got is not None and got.packet.file == token:
                return time.monotonic() - start
        raise AssertionError(f"the DHCP view did not catch up within {timeout} s")

    def client(self, segment: str, mac: str) -> tuple[str, str]:
        """A new client namespace on the segment's bridge; (namespace, interface)."""
        self._clients += 1
        seg = self.segments[segment]
        return self.lab.client_on_bridge(self.ns, seg.bridge, f"c{self._clients}", mac)

    def sightings(self) -> list[dict[str, Any]]:
        """Rows of the ``sightings`` table (there is no sightings API yet)."""
        database = self.server.state_dir / "metalnet.sqlite"
        with contextlib.closing(sqlite3.connect(f"file:{database}?mode=ro", uri=True,
                                                timeout=5)) as connection:
            connection.row_factory = sqlite3.Row
            return [dict(r) for r in connection.execute("SELECT * FROM sightings")]

    def close(self) -> int | None:
        """Stop the server (SIGTERM); its exit status (0 for a clean stop)."""
        self._sentinel_probe.close()
        return self.server.close()
