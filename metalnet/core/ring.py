"""A consistent-hash ring: which member owns a key.

Each member is placed at :data:`REPLICAS` points of a 64-bit circle; a key
belongs to the first point at or after its own hash. Adding or removing one
member moves only the keys that member gains or held (about 1/N of them), so
when a hypervisor dies only its nodes change owner. Pure: no clock, no I/O.
"""

from __future__ import annotations

import bisect
import hashlib
from collections.abc import Iterable

REPLICAS = 64


def _point(text: str) -> int:
    return int.from_bytes(hashlib.blake2b(text.encode(), digest_size=8).digest(), "big")


class HashRing:
    """The ring over ``members`` (any order; duplicates count once)."""

    def __init__(self, members: Iterable[str], replicas: int = REPLICAS) -> None:
        self.members = frozenset(members)
        points = sorted(
            (_point(f"{member}#{i}"), member) for member in self.members for i in range(replicas)
        )
        self._hashes = [h for h, _ in points]
        self._owners = [m for _, m in points]

    def owner_of(self, key: str) -> str | None:
        """The member owning ``key``; ``None`` for an empty ring."""
        if not self._hashes:
            return None
        index = bisect.bisect_left(self._hashes, _point(key)) % len(self._hashes)
        return self._owners[index]
