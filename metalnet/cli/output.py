"""Printing results: readable tables, or JSON with ``-f json``."""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence
from typing import Any, TextIO


def _cell(value: Any) -> str:
    if isinstance(value, list):
        return "\n".join(_cell(v) for v in value) if value else ""
    if isinstance(value, dict):
        return ", ".join(f"{k}={_cell(v)}" for k, v in value.items())
    return "" if value is None else str(value)


def _table(headers: Sequence[str], rows: Sequence[Sequence[str]], out: TextIO) -> None:
    split = [[cell.split("\n") for cell in row] for row in rows]
    widths = [len(h) for h in headers]
    for row in split:
        for i, lines in enumerate(row):
            widths[i] = max(widths[i], *(len(line) for line in lines))
    rule = "+" + "+".join("-" * (w + 2) for w in widths) + "+"

    def line(cells: Sequence[str]) -> str:
        return "| " + " | ".join(c.ljust(w) for c, w in zip(cells, widths, strict=True)) + " |"

    print(rule, line(headers), rule, sep="\n", file=out)
    for row in split:
        height = max(len(lines) for lines in row)
        for k in range(height):
            print(line([lines[k] if k < len(lines) else "" for lines in row]), file=out)
    print(rule, file=out)


def print_list(
    items: Sequence[dict[str, Any]], columns: Sequence[str], fmt: str, out: TextIO | None = None
) -> None:
    """A list of resources: selected columns as a table, or everything as JSON.

    :param out: where to print; ``sys.stdout`` as it is at call time by default.
    """
    out = out or sys.stdout
    if fmt == "json":
        print(json.dumps(list(items), indent=2), file=out)
        return
    _table(columns, [[_cell(item.get(c)) for c in columns] for item in items], out)


def print_item(item: dict[str, Any], fmt: str, out: TextIO | None = None) -> None:
    """One resource: a Field/Value table, or JSON (printed to ``out``, default ``sys.stdout``)."""
    out = out or sys.stdout
    if fmt == "json":
        print(json.dumps(item, indent=2), file=out)
        return
    _table(["Field", "Value"], [[k, _cell(item[k])] for k in sorted(item)], out)
