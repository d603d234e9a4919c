"""The one-range subset of HTTP ``Range: bytes=...`` (RFC 9110 §14) that boot loaders use."""

from __future__ import annotations

from typing import NamedTuple


class ByteRange(NamedTuple):
    """Bytes ``start`` up to, not including, ``stop``."""

    start: int
    stop: int


class RangeNotSatisfiable(Exception):
    """The range lies wholly beyond the end of the file (answer 416)."""


def parse_range(header: str | None, size: int) -> ByteRange | None:
    """The range to send for ``header`` over a file of ``size`` bytes, ``None`` for all of it.

    ``bytes=a-b``, ``bytes=a-`` and ``bytes=-n`` are served; a header that is
    malformed, names another unit, lists several ranges, or applies to an empty
    file is ignored, which RFC 9110 allows (the whole file is sent with 200).

    :raises RangeNotSatisfiable: the range starts at or past the end, or is an empty suffix.
    """
    if header is None or size == 0:
        return None
    unit, sep, spec = header.partition("=")
    if not sep or unit.strip().lower() != "bytes" or "," in spec:
        return None
    first, dash, last = spec.strip().partition("-")
    first, last = first.strip(), last.strip()
    if not dash or not _digits(first, allow_empty=True) or not _digits(last, allow_empty=True):
        return None
    if not first:
        if not last:
            return None
        suffix = int(last)
        if suffix == 0:
            raise RangeNotSatisfiable(header)
        return ByteRange(max(size - suffix, 0), size)
    start = int(first)
    if last and int(last) < start:
        return None  # "a-b" with b < a is invalid: ignore it
    if start >= size:
        raise RangeNotSatisfiable(header)
    return ByteRange(start, size if not last else min(int(last) + 1, size))


def _digits(text: str, *, allow_empty: bool) -> bool:
    if not text:
        return allow_empty
    return len(text) <= 19 and text.isascii() and text.isdigit()
