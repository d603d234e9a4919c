"""Benchmark: bulk port creation and look-up by MAC over HTTP (issue 2, item 9).

For each backend (SQLite under a temp state dir, and/or a throw-away PostgreSQL)
this starts its own ``metalnet serve`` on a free loopback port, creates one
network with a 198.18.0.0/15 subnet (131,069 allocatable addresses), then:

1. bulk-creates the first 1,000 ports (``POST /v2.0/ports {"ports": [...]}``,
   batches of ``--batch``) and times ``--lookups`` random
   ``GET /v2.0/ports?mac_address=MAC`` requests;
2. bulk-creates the rest up to ``--ports`` and times the same look-ups again.

Creation time counts only the POSTs (not the look-up phase in between); the
"50,000 ports" figure is the creation time when the 50,000th port was committed.
Every port gets an address from the pools, as an operator's rack would.

Wall-clock figures depend on whatever else runs on the machine, so the bench
also reads the CPU time the server (and PostgreSQL's processes) spent, from
``/proc/PID/stat``: CPU per created port and per look-up barely move with
load, and they show where a missed target comes from.

Targets (issue 2): look-up p99 < 5 ms with no growth from 1,000 to 100,000
ports; 50,000 ports bulk-created in < 30 s.

    .venv/bin/python bench/api_ports.py                      # 100,000 ports, both backends
    .venv/bin/python bench/api_ports.py --ports 5000 --backend sqlite

Everything it starts (server, PostgreSQL) is stopped by pid and its temp dir
removed, also on failure or Ctrl-C; every request has a timeout, and each
backend's run has a deadline (``--deadline``).
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.support import postgres
from tests.support.server import start_server

FIRST_STAGE = 1_000
MILESTONE = 50_000
CIDR = "198.18.0.0/15"
POOL = {"start": "198.18.0.2", "end": "198.19.255.254"}
TARGET_P99_MS = 5.0
TARGET_MILESTONE_S = 30.0
CLOCK_TICK = os.sysconf("SC_CLK_TCK")


def _proc_stat(pid: int) -> list[str]:
    with open(f"/proc/{pid}/stat") as f:
        return f.read().rpartition(")")[2].split()


def process_cpu(pid: int, with_reaped_children: bool = False) -> float:
    """CPU seconds (user + system) of a process, all threads; 0 if it is gone."""
    try:
        fields = _proc_stat(pid)
    except OSError:
        return 0.0
    ticks = int(fields[11]) + int(fields[12])
    if with_reaped_children:
        ticks += int(fields[13]) + int(fields[14])
    return ticks / CLOCK_TICK


def cluster_cpu(postmaster: int) -> float:
    """CPU seconds of a PostgreSQL cluster: the postmaster, its live and reaped children."""
    total = process_cpu(postmaster, with_reaped_children=True)
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                if int(_proc_stat(int(entry))[1]) == postmaster:
                    total += process_cpu(int(entry))
            except (OSError, IndexError, ValueError):
                continue
    return total


def postmaster_pid(pg: postgres.TempPostgres) -> int:
    """The cluster's postmaster, from the first line of its pid file."""
    return int((pg.data / "postmaster.pid").read_text().split()[0])


class CpuMeter:
    """CPU seconds of the server and, if any, the database cluster."""

    def __init__(self, server_pid: int, postmaster_pid: int | None) -> None:
        self.server_pid = server_pid
        self.postmaster_pid = postmaster_pid

    def read(self) -> tuple[float, float]:
        db = cluster_cpu(self.postmaster_pid) if self.postmaster_pid else 0.0
        return process_cpu(self.server_pid), db


class BenchError(RuntimeError):
    """A request failed or the deadline passed."""


def mac_of(index: int) -> str:
    """A distinct locally administered unicast MAC per index (02:00:xx:xx:xx:xx)."""
    octets = index.to_bytes(4, "big")
    return "02:00:" + ":".join(f"{b:02x}" for b in octets)


@dataclass
class Lookups:
    """Latencies of one look-up phase, in milliseconds."""

    ports: int
    samples: list[float]
    server_cpu_ms: float = 0.0
    db_cpu_ms: float = 0.0

    def percentile(self, q: float) -> float:
        ordered = sorted(self.samples)
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))]

    @property
    def median(self) -> float:
        return statistics.median(self.samples)


@dataclass
class Result:
    """Figures of one backend."""

    backend: str
    ports: int = 0
    create_seconds: float = 0.0
    milestone_seconds: float | None = None
    batch_seconds: list[float] = field(default_factory=list)
    server_cpu_s: float = 0.0
    db_cpu_s: float = 0.0
    lookups: list[Lookups] = field(default_factory=list)

    @property
    def ports_per_second(self) -> float:
        return self.ports / self.create_seconds if self.create_seconds else 0.0


class Runner:
    """Drives one server through the benchmark."""

    def __init__(
        self, url: str, args: argparse.Namespace, deadline: float, meter: CpuMeter
    ) -> None:
        self.args = args
        self.meter = meter
        self.deadline = deadline
        self.client = httpx.Client(base_url=url, timeout=args.request_timeout,
                                   headers={"Accept": "application/json"})
        self.rng = random.Random(args.seed)

    def close(self) -> None:
        self.client.close()

    def _check_deadline(self) -> None:
        if time.monotonic() > self.deadline:
            raise BenchError("deadline passed (see --deadline)")

    def _request(self, method: str, path: str, expect: int, **kwargs: object) -> httpx.Response:
        response = self.client.request(method, path, **kwargs)  # type: ignore[arg-type]
        if response.status_code != expect:
            raise BenchError(f"{method} {path}: {response.status_code} {response.text[:500]}")
        return response

    def make_network(self) -> str:
        net = self._request("POST", "/v2.0/networks", 201,
                            json={"network": {"name": "bench", "provider:network_type": "flat",
                                              "provider:physical_network": "physnet1"}})
        network_id: str = net.json()["network"]["id"]
        self._request("POST", "/v2.0/subnets", 201,
                      json={"subnet": {"network_id": network_id, "ip_version": 4, "cidr": CIDR,
                                       "gateway_ip": "198.18.0.1", "allocation_pools": [POOL]}})
        return network_id

    def create(self, result: Result, network_id: str, start: int, stop: int) -> None:
        """Create ports ``start..stop-1`` in batches; adds to ``result``."""
        server_cpu, db_cpu = self.meter.read()
        try:
            self._create(result, network_id, start, stop)
        finally:
            server_after, db_after = self.meter.read()
            result.server_cpu_s += server_after - server_cpu
            result.db_cpu_s += db_after - db_cpu

    def _create(self, result: Result, network_id: str, start: int, stop: int) -> None:
        for first in range(start, stop, self.args.batch):
            self._check_deadline()
            last = min(stop, first + self.args.batch)
            body = {"ports": [
                {"network_id": network_id, "mac_address": mac_of(i), "name": f"bench-{i}",
                 "binding:vnic_type": "baremetal", "device_owner": "baremetal:none"}
                for i in range(first, last)
            ]}
            began = time.perf_counter()
            response = self._request("POST", "/v2.0/ports", 201, json=body)
            elapsed = time.perf_counter() - began
            if len(response.json()["ports"]) != last - first:
                raise BenchError("bulk create answered a different number of ports")
            before = result.ports
            result.ports = last
            result.create_seconds += elapsed
            result.batch_seconds.append(elapsed)
            if before < MILESTONE <= result.ports:
                result.milestone_seconds = result.create_seconds
            if self.args.verbose:
                print(f"  {result.ports:>7} ports  batch {elapsed * 1000:7.1f} ms  "
                      f"total {result.create_seconds:6.1f} s", flush=True)

    def lookup(self, existing: int) -> Lookups:
        """``--lookups`` timed GETs by random existing MAC (after a short warm-up)."""
        samples: list[float] = []
        cpu_before = (0.0, 0.0)
        for n in range(self.args.warmup + self.args.lookups):
            if n == self.args.warmup:
                cpu_before = self.meter.read()
            if n % 100 == 0:
                self._check_deadline()
            mac = mac_of(self.rng.randrange(existing))
            began = time.perf_counter()
            response = self.client.get("/v2.0/ports", params={"mac_address": mac})
            elapsed = time.perf_counter() - began
            if response.status_code != 200:
                raise BenchError(f"lookup {mac}: {response.status_code} {response.text[:300]}")
            ports = response.json()["ports"]
            if len(ports) != 1 or ports[0]["mac_address"] != mac:
                raise BenchError(f"lookup {mac}: expected one port, got {len(ports)}")
            if n >= self.args.warmup:
                samples.append(elapsed * 1000)
        server_after, db_after = self.meter.read()
        per = 1000 / self.args.lookups
        return Lookups(existing, samples, (server_after - cpu_before[0]) * per,
                       (db_after - cpu_before[1]) * per)


def run_backend(backend: str, args: argparse.Namespace) -> Result:
    """Start the backend's server (and database), run the benchmark, stop everything."""
    workdir = Path(tempfile.mkdtemp(prefix=f"metalnet-bench-{backend}-"))
    pg: postgres.TempPostgres | None = None
    server = None
    runner = None
    result = Result(backend)
    try:
        extra: list[str] = []
        if backend == "postgresql":
            pg = postgres.TempPostgres().start()
            extra = ["--db", pg.create_database()]
        server = start_server(workdir, *extra, ready_timeout=60)
        print(f"[{backend}] metalnet serve pid {server.pid} on {server.url}"
              + (f", PostgreSQL on port {pg.port}" if pg else ""), flush=True)
        if args.profile_pause:
            input(f"[{backend}] attach a profiler to pid {server.pid}, then press Enter ")
        meter = CpuMeter(server.pid, postmaster_pid(pg) if pg else None)
        runner = Runner(server.url, args, time.monotonic() + args.deadline, meter)
        network_id = runner.make_network()
        first = min(FIRST_STAGE, args.ports)
        runner.create(result, network_id, 0, first)
        result.lookups.append(runner.lookup(first))
        print(f"[{backend}] {first} ports: look-up median {result.lookups[-1].median:.2f} ms, "
              f"p99 {result.lookups[-1].percentile(0.99):.2f} ms", flush=True)
        if args.ports > first:
            runner.create(result, network_id, first, args.ports)
            print(f"[{backend}] {args.ports} ports created in {result.create_seconds:.1f} s",
                  flush=True)
            result.lookups.append(runner.lookup(args.ports))
        return result
    finally:
        if runner is not None:
            runner.close()
        if server is not None:
            status = server.stop()
            if status != 0:
                print(f"[{backend}] metalnet serve exited with {status}:\n{server.log_tail()}",
                      file=sys.stderr)
        if pg is not None:
            pg.stop()
        shutil.rmtree(workdir, ignore_errors=True)


def report(results: list[Result], args: argparse.Namespace) -> None:
    """Print the figures as a table, with the targets."""
    load = os.getloadavg()
    print()
    print(f"metalnet API benchmark: {args.ports} ports, batches of {args.batch}, "
          f"{args.lookups} look-ups per phase; {os.cpu_count()} CPUs, "
          f"load average {load[0]:.1f} {load[1]:.1f} {load[2]:.1f}")
    print()
    print("Bulk create (POST /v2.0/ports, CPU = server / database processes)")
    header = (f"{'backend':<11} {'ports':>7} {'total s':>8} {'ports/s':>8} {'50k s':>7} "
              f"{'batch p50 ms':>12} {'batch max ms':>12} {'CPU us/port':>14}")
    print(header)
    print("-" * len(header))
    for r in results:
        batches = sorted(r.batch_seconds)
        milestone = f"{r.milestone_seconds:.1f}" if r.milestone_seconds is not None else "-"
        cpu = f"{r.server_cpu_s * 1e6 / r.ports:.0f} / {r.db_cpu_s * 1e6 / r.ports:.0f}"
        print(f"{r.backend:<11} {r.ports:>7} {r.create_seconds:>8.1f} {r.ports_per_second:>8.0f} "
              f"{milestone:>7} {statistics.median(batches) * 1000:>12.0f} "
              f"{batches[-1] * 1000:>12.0f} {cpu:>14}")
    print()
    print("Look-up GET /v2.0/ports?mac_address=MAC (random existing MAC, one keep-alive client)")
    header = (f"{'backend':<11} {'ports':>7} {'p50 ms':>7} {'p90 ms':>7} {'p99 ms':>7} "
              f"{'max ms':>7} {'CPU ms/req':>13}")
    print(header)
    print("-" * len(header))
    for r in results:
        for phase in r.lookups:
            cpu = f"{phase.server_cpu_ms:.2f} / {phase.db_cpu_ms:.2f}"
            print(f"{r.backend:<11} {phase.ports:>7} {phase.median:>7.2f} "
                  f"{phase.percentile(0.90):>7.2f} {phase.percentile(0.99):>7.2f} "
                  f"{max(phase.samples):>7.2f} {cpu:>13}")
    print()
    for r in results:
        verdicts = []
        if r.milestone_seconds is not None:
            ok = r.milestone_seconds < TARGET_MILESTONE_S
            verdicts.append(f"50k created in {r.milestone_seconds:.1f} s "
                            f"({'ok' if ok else 'MISSED'}, target < {TARGET_MILESTONE_S:.0f} s)")
        for phase in r.lookups:
            p99 = phase.percentile(0.99)
            ok = p99 < TARGET_P99_MS
            verdicts.append(f"p99 at {phase.ports}: {p99:.2f} ms "
                            f"({'ok' if ok else 'MISSED'}, target < {TARGET_P99_MS:.0f} ms)")
        if len(r.lookups) == 2:
            growth = r.lookups[1].median / r.lookups[0].median
            verdicts.append(f"median {r.lookups[0].ports}->{r.lookups[1].ports}: x{growth:.2f}")
        print(f"{r.backend}: " + "; ".join(verdicts))


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--ports", type=int, default=100_000, help="ports to create (100000)")
    parser.add_argument("--batch", type=int, default=1_000, help="ports per bulk POST (1000)")
    parser.add_argument("--lookups", type=int, default=2_000, help="timed look-ups per phase")
    parser.add_argument("--backend", choices=["sqlite", "postgresql", "both"], default="both")
    parser.add_argument("--warmup", type=int, default=100, help="untimed look-ups first (100)")
    parser.add_argument("--seed", type=int, default=1, help="random seed of the MAC choice")
    parser.add_argument("--request-timeout", type=float, default=120.0,
                        help="seconds per HTTP request (120)")
    parser.add_argument("--deadline", type=float, default=1800.0,
                        help="seconds per backend before giving up (1800)")
    parser.add_argument("--profile-pause", action="store_true",
                        help="wait for Enter after the server starts (to attach py-spy)")
    parser.add_argument("-v", "--verbose", action="store_true", help="print every batch")
    args = parser.parse_args(argv)
    if not 1 <= args.ports <= 131_000:
        parser.error("--ports must be between 1 and 131000 (the /15 subnet's size)")
    if args.batch < 1 or args.lookups < 1:
        parser.error("--batch and --lookups must be positive")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    backends = ["sqlite", "postgresql"] if args.backend == "both" else [args.backend]
    if "postgresql" in backends and not postgres.available():
        print("PostgreSQL is not available here (needs Debian's postgresql and root); skipped",
              file=sys.stderr)
        backends.remove("postgresql")
    results = []
    for backend in backends:
        try:
            results.append(run_backend(backend, args))
        except BenchError as exc:
            print(f"[{backend}] failed: {exc}", file=sys.stderr)
            return 1
    report(results, args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
