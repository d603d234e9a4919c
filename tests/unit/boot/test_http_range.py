"""Parsing of single byte ranges."""

from __future__ import annotations

import pytest

from metalnet.boot.http_range import ByteRange, RangeNotSatisfiable, parse_range


@pytest.mark.parametrize(
    ("header", "size", "expected"),
    [
        (None, 100, None),
        ("bytes=0-9", 100, ByteRange(0, 10)),
        ("bytes=90-", 100, ByteRange(90, 100)),
        ("bytes=-10", 100, ByteRange(90, 100)),
        ("bytes=-1000", 100, ByteRange(0, 100)),
        ("bytes=50-1000", 100, ByteRange(50, 100)),
        ("Bytes = 1-1", 100, ByteRange(1, 2)),
        ("bytes=0-9,20-29", 100, None),  # several ranges: the whole file
        ("bytes=9-0", 100, None),  # invalid: ignored
        ("bytes=a-b", 100, None),
        ("bytes=-", 100, None),
        ("bytes=5", 100, None),
        ("items=0-9", 100, None),
        ("bytes=0-9", 0, None),  # an empty file is sent whole
    ],
)
def test_parse_range(header: str | None, size: int, expected: ByteRange | None) -> None:
    assert parse_range(header, size) == expected


@pytest.mark.parametrize("header", ["bytes=100-", "bytes=100-200", "bytes=-0"])
def test_unsatisfiable(header: str) -> None:
    with pytest.raises(RangeNotSatisfiable):
        parse_range(header, 100)
