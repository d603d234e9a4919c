"""Sightings: unknown MACs the server heard, kept in memory and saved in batches."""

from __future__ import annotations

from dataclasses import replace

from metalnet.core.model import Sighting
from metalnet.wire.dhcp4 import Packet
from metalnet.wire.dhcp4.pxe import client_arch


def _text(value: bytes | None) -> str | None:
    return None if value is None else value.decode("ascii", "backslashreplace")


def _hex(value: bytes | None) -> str | None:
    return None if value is None else value.hex(":")


class SightingBook:
    """Sightings by MAC; :meth:`take_dirty` hands the changed ones to the saver."""

    def __init__(self, limit: int = 100_000) -> None:
        self.limit = limit
        self.dropped = 0
        self._by_mac: dict[str, Sighting] = {}
        self._dirty: set[str] = set()

    def record(
        self, packet: Packet, mac: str, network_id: str | None, policy: str, now: float
    ) -> None:
        """Note one request from an unknown MAC.

        Bounded: past ``limit`` MACs, new ones are only counted in :attr:`dropped`.
        """
        current = self._by_mac.get(mac)
        if current is not None:
            self._by_mac[mac] = replace(
                current,
                last_seen=now,
                count=current.count + 1,
                network_id=network_id,
                policy=policy,
            )
            self._dirty.add(mac)
            return
        if len(self._by_mac) >= self.limit:
            self.dropped += 1
            return
        try:
            relay = packet.relay_agent_info
            circuit, remote = (relay.circuit_id, relay.remote_id) if relay else (None, None)
            arch = client_arch(packet)
            user_class = packet.options.get(77)
        except ValueError:  # a malformed option is not worth losing the sighting for
            circuit = remote = user_class = None
            arch = None
        self._by_mac[mac] = Sighting(
            mac=mac,
            network_id=network_id,
            first_seen=now,
            last_seen=now,
            count=1,
            vendor_class=_text(packet.options.get(60)),
            client_arch=arch,
            user_class=_text(user_class),
            giaddr=_ip(packet.giaddr),
            relay_circuit_id=_hex(circuit),
            relay_remote_id=_hex(remote),
            policy=policy,
        )
        self._dirty.add(mac)

    def take_dirty(self, limit: int = 2000) -> list[Sighting]:
        """Up to ``limit`` sightings changed since they were last taken (the rest wait
        for the next call, so one save never holds the interpreter for long)."""
        taken: list[Sighting] = []
        while self._dirty and len(taken) < limit:
            taken.append(self._by_mac[self._dirty.pop()])
        return taken

    def forget(self, mac: str) -> None:
        """Drop a MAC that became known."""
        self._by_mac.pop(mac, None)
        self._dirty.discard(mac)


def _ip(address: int) -> str | None:
    if not address:
        return None
    return ".".join(str((address >> shift) & 0xFF) for shift in (24, 16, 8, 0))
