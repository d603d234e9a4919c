"""Bounded byte reader and writer used by every codec."""

from __future__ import annotations

import builtins
import struct
from collections.abc import Iterator
from contextlib import contextmanager

from metalnet.wire.errors import Truncated

_U16 = struct.Struct("!H")
_U32 = struct.Struct("!I")


class Reader:
    """A cursor over bytes that never reads past its end.

    Every read raises :class:`~metalnet.wire.errors.Truncated` when fewer bytes
    remain than asked for. :meth:`restrict_to` narrows the end for the body of
    a length-prefixed field, so a bad inner length cannot escape it.
    """

    __slots__ = ("_data", "_end", "pos")

    def __init__(self, data: builtins.bytes, start: int = 0, end: int | None = None) -> None:
        self._data = data
        self.pos = start
        self._end = len(data) if end is None else min(end, len(data))

    def remaining(self) -> int:
        """Bytes left before the current end."""
        return self._end - self.pos

    def bytes(self, n: int) -> builtins.bytes:
        """Read exactly ``n`` bytes.

        :raises Truncated: fewer than ``n`` bytes remain.
        """
        if n < 0 or self.pos + n > self._end:
            raise Truncated(f"wanted {n} bytes, {self.remaining()} left", self.pos)
        start = self.pos
        self.pos += n
        return self._data[start : self.pos]

    def rest(self) -> builtins.bytes:
        """Read everything up to the current end."""
        return self.bytes(self.remaining())

    def u8(self) -> int:
        """Read one unsigned byte."""
        if self.pos >= self._end:
            raise Truncated("wanted 1 byte, 0 left", self.pos)
        value = self._data[self.pos]
        self.pos += 1
        return value

    def u16(self) -> int:
        """Read a network-order unsigned 16-bit integer."""
        return int(_U16.unpack(self.bytes(2))[0])

    def u32(self) -> int:
        """Read a network-order unsigned 32-bit integer."""
        return int(_U32.unpack(self.bytes(4))[0])

    @contextmanager
    def restrict_to(self, n: int) -> Iterator[None]:
        """Narrow the readable range to the next ``n`` bytes for the block's duration.

        On exit the cursor moves to the end of that range, whatever was read.

        :raises Truncated: fewer than ``n`` bytes remain.
        """
        if n < 0 or self.pos + n > self._end:
            raise Truncated(f"length {n} runs past the end ({self.remaining()} left)", self.pos)
        saved_end = self._end
        self._end = self.pos + n
        try:
            yield
        finally:
            self.pos = self._end
            self._end = saved_end


class Writer:
    """Append-only byte builder."""

    __slots__ = ("_parts",)

    def __init__(self) -> None:
        self._parts = bytearray()

    def bytes(self, data: builtins.bytes) -> None:
        """Append raw bytes."""
        self._parts += data

    def u8(self, value: int) -> None:
        """Append one unsigned byte."""
        self._parts.append(value)

    def u16(self, value: int) -> None:
        """Append a network-order unsigned 16-bit integer."""
        self._parts += _U16.pack(value)

    def u32(self, value: int) -> None:
        """Append a network-order unsigned 32-bit integer."""
        self._parts += _U32.pack(value)

    def __len__(self) -> int:
        return len(self._parts)

    def getvalue(self) -> builtins.bytes:
        """The bytes written so far."""
        return bytes(self._parts)
