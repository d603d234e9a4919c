"""MAC addresses in the one form metalnet stores, indexes and compares: ``aa:bb:cc:dd:ee:ff``."""

from __future__ import annotations

import re

# Six pairs of hex digits, all separated by ':' or all by '-'.
_MAC = re.compile(r"[0-9a-f]{2}([:-])[0-9a-f]{2}(?:\1[0-9a-f]{2}){4}")


def canonical_mac(text: str) -> str:
    """``AA-BB-CC-DD-EE-FF`` or `` aa:bb:cc:dd:ee:ff`` -> ``aa:bb:cc:dd:ee:ff``.

    :raises ValueError: ``text`` is not a MAC address in either notation.
    """
    lowered = text.strip().lower()
    if not _MAC.fullmatch(lowered):
        raise ValueError(f"'{text}' is not a MAC address")
    return lowered.replace("-", ":")


def is_unicast(mac: str) -> bool:
    """Whether canonical ``mac`` can name one interface: not group (multicast,
    broadcast) and not all zeros."""
    return not int(mac[:2], 16) & 1 and mac != "00:00:00:00:00:00"
