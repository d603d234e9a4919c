"""Summarise bench/tftp_rate.sh results: median MiB/s per case and server, and the ratio.

Reads lines ``case<TAB>server<TAB>round<TAB>seconds<TAB>bytes`` from the file named
by the first argument.
"""

from __future__ import annotations

import statistics
import sys
from collections import defaultdict


def main() -> None:
    """Print the table."""
    rates: dict[str, dict[str, list[float]]] = defaultdict(lambda: defaultdict(list))
    order: list[str] = []
    with open(sys.argv[1]) as results:
        for line in results:
            case, server, _round, seconds, size = line.rstrip("\n").split("\t")
            if case not in order:
                order.append(case)
            rates[case][server].append(int(size) / float(seconds) / 2**20)
    width = max(len(case) for case in ["case", *order])
    print(f"{'case':<{width}} {'metalnet MiB/s':>15} {'tftpd-hpa MiB/s':>16} {'ratio':>7}")
    for case in order:
        ours = rates[case].get("metalnet", [])
        theirs = rates[case].get("tftpd-hpa", [])
        ours_text = f"{statistics.median(ours):.1f}" if ours else "-"
        theirs_text = f"{statistics.median(theirs):.1f}" if theirs else "-"
        ratio = (
            f"{statistics.median(ours) / statistics.median(theirs):.2f}" if ours and theirs else "-"
        )
        print(f"{case:<{width}} {ours_text:>15} {theirs_text:>16} {ratio:>7}")
    print("(median over rounds; every figure: bytes received / wall time)")


if __name__ == "__main__":
    main()
