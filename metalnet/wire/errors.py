"""Errors raised by the pure codecs in :mod:`metalnet.wire`.

A codec either returns a decoded value or raises exactly one :class:`WireError`;
servers turn it into a counted drop, never a crash::

    WireError
     +-- Truncated    a length field or fixed header runs past the data
     +-- BadMagic     a magic cookie / fixed marker is wrong
     +-- BadOption    an option's content does not fit its definition
     +-- BadPacket    anything else structurally wrong (unknown opcode, ...)
"""

from __future__ import annotations


class WireError(ValueError):
    """A packet could not be decoded or encoded.

    :param message: what was wrong.
    :param offset: byte offset in the input where it went wrong, when known.
    """

    def __init__(self, message: str, offset: int | None = None) -> None:
        self.offset = offset
        super().__init__(message if offset is None else f"{message} (at offset {offset})")


class Truncated(WireError):
    """The input ended before a field it announces."""


class BadMagic(WireError):
    """A fixed marker (such as the DHCP magic cookie) is wrong."""


class BadOption(WireError):
    """An option's length or content does not fit its definition."""


class BadPacket(WireError):
    """The packet is structurally wrong in another way."""
