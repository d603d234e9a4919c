"""Reads perfdhcp reports for bench/dhcp_rate.sh and prints the comparison table.

    dhcp_results.py judge OUT --offered RATE --seconds S   # pass, fail or fail-generator
    dhcp_results.py record OUT RESULTS --scenario S --server X --round N --kind K \
        --offered R --seconds S
    dhcp_results.py table RESULTS
    dhcp_results.py profile RAW                   # summary of a py-spy --format raw file

A probe passes when perfdhcp completed at least 97 % of the offered 4-way
exchanges per second and lost at most 1 % of the packets of either stage
(DISCOVER-OFFER, REQUEST-ACK). Latency percentiles come from the per-exchange
timestamps perfdhcp prints with ``-x t``.

perfdhcp runs with an exit wait (``-W``), so a reply still on its way when the
sending stops is counted as received, not lost. Its own "Rate" line divides by
the sending time plus that wait; the rate used here is the ACKs received over
the sending time alone.
"""

from __future__ import annotations

import argparse
import json
import re
import statistics
import sys
from collections import Counter, defaultdict
from dataclasses import asdict, dataclass, field
from pathlib import Path

MIN_RATE_SHARE = 0.97
MAX_LOSS = 0.01
STAGES = ("DISCOVER-OFFER", "REQUEST-ACK")


@dataclass
class Stage:
    """One stage of the exchange as perfdhcp counted it."""

    sent: int = 0
    received: int = 0
    drops: int = 0
    orphans: int = 0
    avg_ms: float | None = None
    max_ms: float | None = None
    std_ms: float | None = None
    delays_ms: list[float] = field(default_factory=list)

    @property
    def loss(self) -> float:
        return (self.sent - self.received) / self.sent if self.sent else 1.0

    def percentile(self, q: float) -> float | None:
        if not self.delays_ms:
            return None
        ordered = sorted(self.delays_ms)
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


@dataclass
class Report:
    """perfdhcp's final report of a run that sent for ``seconds``."""

    seconds: float
    stages: dict[str, Stage]

    @property
    def rate(self) -> float:
        """Completed 4-way exchanges per second of sending."""
        return self.stages["REQUEST-ACK"].received / self.seconds

    def passes(self, offered: float) -> bool:
        return self.rate >= MIN_RATE_SHARE * offered and all(
            s.sent > 0 and s.loss <= MAX_LOSS for s in self.stages.values())

    def sent_share(self, offered: float) -> float:
        """DISCOVERs perfdhcp sent against what was asked: below ~0.97 the load
        generator, not the server, was the limit."""
        return self.stages["DISCOVER-OFFER"].sent / (offered * self.seconds)

    def summary(self) -> str:
        """The rate and the loss, in words for the bench log (not perfdhcp's Rate line,
        which divides by the exit wait too)."""
        if not self.stages["DISCOVER-OFFER"].sent:
            return "no report"
        lost = max(s.loss for s in self.stages.values()) * 100
        return f"{self.rate:,.0f} ACK/s received, {lost:.2f} % lost"

    def verdict(self, offered: float) -> str:
        if self.passes(offered):
            return "pass"
        if self.sent_share(offered) < MIN_RATE_SHARE:
            return "fail-generator"  # perfdhcp could not send at the rate asked
        return "fail"


def _number(text: str) -> float | None:
    try:
        return float(text)
    except ValueError:
        return None


def parse(path: Path, seconds: float) -> Report:
    """The figures of one perfdhcp output; zeros when it reported nothing."""
    stages = {name: Stage() for name in STAGES}
    current: Stage | None = None
    for line in path.read_text(errors="replace").splitlines():
        if m := re.match(r"\*\*\*(Statistics|Timestamps) for(?: packets)?: (\S+)\*\*\*", line):
            current = stages.get(m.group(2))
        elif current is None:
            continue
        elif m := re.match(r"sent / received: ([\d.]+) / ([\d.]+)", line):
            current.delays_ms.append((float(m.group(2)) - float(m.group(1))) * 1000)
        elif m := re.match(r"(sent packets|received packets|drops|orphans): (\d+)", line):
            setattr(current, m.group(1).split()[0], int(m.group(2)))
        elif m := re.match(r"(?:avg delay: )?(avg|max) delay: (\S+) ms", line):
            setattr(current, f"{m.group(1)}_ms", _number(m.group(2)))
        elif m := re.match(r"std deviation: (\S+) ms", line):
            current.std_ms = _number(m.group(1))
    return Report(seconds, stages)


def overflows(output: Path) -> tuple[int | None, int | None]:
    """Datagrams the server's and perfdhcp's sockets dropped (full buffer) during a run,
    from the ``OUT.udp`` file bench/dhcp_rate.sh writes beside perfdhcp's output."""
    try:
        server, client = output.with_name(output.name + ".udp").read_text().split()
        return int(server), int(client)
    except (OSError, ValueError):
        return None, None


def record(report: Report, results: Path, meta: dict[str, object]) -> None:
    """Append one run to the results file (one JSON object a line)."""
    row: dict[str, object] = dict(meta)
    row["rate"] = report.rate
    row["passed"] = report.passes(float(meta["offered"]))  # type: ignore[arg-type]
    row["sent_share"] = report.sent_share(float(meta["offered"]))  # type: ignore[arg-type]
    for name, stage in report.stages.items():
        figures = {k: v for k, v in asdict(stage).items() if k != "delays_ms"}
        figures["p50_ms"] = stage.percentile(0.50)
        figures["p99_ms"] = stage.percentile(0.99)
        row[name] = figures
    with results.open("a") as out:
        out.write(json.dumps(row) + "\n")


def _median(values: list[float]) -> float | None:
    values = [v for v in values if v is not None]
    return statistics.median(values) if values else None


def _fmt(value: float | None, digits: int = 0) -> str:
    return "-" if value is None else f"{value:,.{digits}f}"


def _loss_percent(row: dict) -> float:
    sent = sum(row[s]["sent"] for s in STAGES)
    received = sum(row[s]["received"] for s in STAGES)
    return 100.0 * (sent - received) / sent if sent else 100.0


SCENARIO_TITLES = {
    "reg10k": "10,000 registered MACs",
    "reg50k": "50,000 registered MACs",
    "pool": "pool allocation (unknown MACs)",
}


def table(results: Path) -> None:
    rows = [json.loads(line) for line in results.read_text().splitlines() if line.strip()]
    by: dict[tuple[str, str, str], list[dict]] = defaultdict(list)
    scenarios: list[str] = []
    for row in rows:
        by[(row["scenario"], row["kind"], row["server"])].append(row)
        if row["scenario"] not in scenarios:
            scenarios.append(row["scenario"])
    servers = ("metalnet", "kea")
    print()
    print("Medians over rounds. 'max' = highest offered rate that passed (>= 97 % of the rate")
    print("completed, <= 1 % of either stage lost), figures of that run; 'equal load' = both")
    print("servers at 80 % of the lower 'max' of the round. Latency per stage: avg / p99 ms.")
    print("Overflows: datagrams dropped by a full socket buffer in that run, at the server /")
    print("at perfdhcp (the load generator; its losses are not the server's). 'gen-lim': rounds")
    print("whose search stopped because perfdhcp could not send at the rate asked (< 97 %).")
    header = (f"{'scenario':<32} {'kind':<10} {'server':<9} {'4-way/s':>8} {'lost %':>7} "
              f"{'offer avg/p99':>14} {'ack avg/p99':>14} {'max ms':>7} {'overflows':>12} "
              f"{'gen-lim':>7} {'rounds':>6}")
    print(header)
    print("-" * len(header))
    ratios: list[str] = []
    for scenario in scenarios:
        for kind in ("max", "equal"):
            medians: dict[str, dict[str, float | None]] = {}
            for server in servers:
                runs = by.get((scenario, kind, server), [])
                if not runs:
                    continue
                m = {
                    "rate": _median([r["rate"] for r in runs]),
                    "loss": _median([_loss_percent(r) for r in runs]),
                    "o_avg": _median([r["DISCOVER-OFFER"]["avg_ms"] for r in runs]),
                    "o_p99": _median([r["DISCOVER-OFFER"]["p99_ms"] for r in runs]),
                    "a_avg": _median([r["REQUEST-ACK"]["avg_ms"] for r in runs]),
                    "a_p99": _median([r["REQUEST-ACK"]["p99_ms"] for r in runs]),
                    "max": _median([max(r[s]["max_ms"] or 0 for s in STAGES) for r in runs]),
                    "srv_ovf": _median([r.get("server_overflow") for r in runs]),
                    "gen_ovf": _median([r.get("perfdhcp_overflow") for r in runs]),
                    "gen_limited": sum(r.get("limited_by") == "fail-generator" for r in runs),
                }
                medians[server] = m
                print(f"{SCENARIO_TITLES.get(scenario, scenario):<32} "
                      f"{'max' if kind == 'max' else 'equal load':<10} {server:<9} "
                      f"{_fmt(m['rate']):>8} {_fmt(m['loss'], 2):>7} "
                      f"{_fmt(m['o_avg'], 2) + ' / ' + _fmt(m['o_p99'], 2):>14} "
                      f"{_fmt(m['a_avg'], 2) + ' / ' + _fmt(m['a_p99'], 2):>14} "
                      f"{_fmt(m['max'], 1):>7} "
                      f"{_fmt(m['srv_ovf']) + ' / ' + _fmt(m['gen_ovf']):>12} "
                      f"{m['gen_limited'] if kind == 'max' else '-':>7} {len(runs):>6}")
            ours, kea = medians.get("metalnet"), medians.get("kea")
            if kind == "max" and ours and kea and ours["rate"] and kea["rate"]:
                ratio = ours["rate"] / kea["rate"]
                ratios.append(f"{SCENARIO_TITLES.get(scenario, scenario):<32} "
                              f"metalnet/Kea = {ratio:.2f}x  (lost % {_fmt(ours['loss'], 2)}"
                              f" vs {_fmt(kea['loss'], 2)})")
    print()
    print("Sustained 4-way exchanges/s, ratio of medians:")
    for line in ratios:
        print("  " + line)


def profile(raw: Path, top: int = 25) -> None:
    """Where the event-loop thread's samples go: inclusive and self shares per function."""
    inclusive: Counter[str] = Counter()
    own: Counter[str] = Counter()
    workers: Counter[str] = Counter()
    total = 0
    for line in raw.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        if "run_forever" not in stack and "Runner.run" not in stack:  # asyncio / uvloop
            # A worker thread running a job (database, sightings) competes for the GIL.
            job = stack.split("_WorkItem.run", 1)[-1].split(";")
            if "_WorkItem.run" in stack and len(job) > 1:
                workers[re.sub(r" \(.*", "", job[1])] += int(count)
            continue
        frames = [re.sub(r" \((?:.*/)?([^/:]+)\.py:\d+\)", r" (\1)", f) for f in stack.split(";")]
        total += int(count)
        for frame in set(frames):
            inclusive[frame] += int(count)
        own[frames[-1]] += int(count)
    if not total:
        print("no samples of the event loop")
        return
    print(f"{total} samples of the event-loop thread")
    for title, counter in (("inclusive", inclusive), ("self", own)):
        print(f"-- {title}")
        for frame, count in counter.most_common(top):
            print(f"{100 * count / total:5.1f}%  {frame}")
    if workers:
        print("-- worker-thread jobs (holding the GIL part of the time), samples vs the loop's")
        for job, count in workers.most_common(5):
            print(f"{100 * count / total:5.1f}%  {job}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    j = sub.add_parser("judge")
    j.add_argument("output", type=Path)
    j.add_argument("--offered", type=float, required=True)
    j.add_argument("--seconds", type=float, required=True)
    r = sub.add_parser("record")
    r.add_argument("output", type=Path)
    r.add_argument("results", type=Path)
    for name in ("scenario", "server", "round", "kind"):
        r.add_argument(f"--{name}", required=True)
    r.add_argument("--offered", type=float, required=True)
    r.add_argument("--seconds", type=float, required=True)
    r.add_argument("--limited-by", default="none",
                   help="max runs: the verdict of the lowest failing probe")
    s = sub.add_parser("summary")
    s.add_argument("output", type=Path)
    s.add_argument("--seconds", type=float, required=True)
    t = sub.add_parser("table")
    t.add_argument("results", type=Path)
    p = sub.add_parser("profile")
    p.add_argument("raw", type=Path)
    args = parser.parse_args()
    if args.command == "judge":
        report = parse(args.output, args.seconds)
        print(report.verdict(args.offered))
    elif args.command == "record":
        server_drops, client_drops = overflows(args.output)
        record(parse(args.output, args.seconds), args.results, {
            "scenario": args.scenario, "server": args.server, "round": int(args.round),
            "kind": args.kind, "offered": args.offered, "seconds": args.seconds,
            "limited_by": args.limited_by,
            "server_overflow": server_drops, "perfdhcp_overflow": client_drops})
    elif args.command == "summary":
        print(parse(args.output, args.seconds).summary())
    elif args.command == "profile":
        profile(args.raw)
    else:
        table(args.results)
    sys.stdout.flush()


if __name__ == "__main__":
    main()
