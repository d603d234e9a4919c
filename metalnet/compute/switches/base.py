"""The switch driver interface (see the package docstring)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from metalnet.errors import Unavailable


@dataclass(frozen=True, slots=True)
class SwitchPort:
    """A port of a switch: the switch (``switch_id``, may be None) and its port name."""

    switch_id: str | None
    port_id: str


class SwitchError(Unavailable):
    message_format = "Switch {switch}: {reason}"


class SwitchDriver(Protocol):
    """Moves switch ports between VLANs. Both calls are idempotent."""

    def bind(self, port: SwitchPort, vlan: int) -> None:
        """Make ``port`` an access port of ``vlan`` (untagged, its PVID).

        :raises SwitchError: the switch refused or cannot be reached.
        """

    def unbind(self, port: SwitchPort, vlan: int) -> None:
        """Take ``port`` out of ``vlan``, back to the switch's default VLAN.

        :raises SwitchError: the switch refused or cannot be reached.
        """
