"""A Linux bridge with VLAN filtering as the switch: each bridge port is a
machine's switch port, moved between VLANs with ``bridge vlan``.

Binding makes the VLAN the port's PVID, untagged, and removes the default VLAN,
so the machine's untagged frames are in that VLAN only; unbinding does the
reverse. ``netns`` runs the commands in a network namespace (``bridge -n``).
"""

from __future__ import annotations

import contextlib
import subprocess
from collections.abc import Callable, Sequence

from metalnet.compute.switches.base import SwitchError, SwitchPort

Runner = Callable[[Sequence[str]], None]


def run_command(argv: Sequence[str]) -> None:
    """Run ``argv``; raise with its stderr when it fails.

    :raises SwitchError: the command failed or is missing.
    """
    try:
        done = subprocess.run(list(argv), capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise SwitchError(switch="linux-bridge", reason=f"{' '.join(argv)}: {exc}") from exc
    if done.returncode != 0:
        raise SwitchError(switch="linux-bridge",
                          reason=f"{' '.join(argv)}: {done.stderr.strip()}")


class LinuxBridgeDriver:
    """:class:`~metalnet.compute.switches.SwitchDriver` for a VLAN-filtering bridge.

    :param netns: network namespace of the bridge (``None``: this one).
    :param default_vlan: the VLAN an unbound port is in (the bridge's
        ``default_pvid``, 1 unless changed).
    :param run: runs one command (tests inject a recorder).
    """

    def __init__(
        self, netns: str | None = None, default_vlan: int = 1, run: Runner = run_command
    ) -> None:
        self.netns = netns
        self.default_vlan = default_vlan
        self.run = run

    @classmethod
    def from_argument(cls, argument: str | None) -> LinuxBridgeDriver:
        """From ``--switch-driver PHYSNET:linux-bridge[:NETNS]``."""
        return cls(netns=argument)

    def _vlan(self, action: str, port: SwitchPort, vlan: int, *flags: str) -> None:
        prefix = ["bridge", *(["-n", self.netns] if self.netns else [])]
        self.run([*prefix, "vlan", action, "dev", port.port_id, "vid", str(vlan), *flags])

    def bind(self, port: SwitchPort, vlan: int) -> None:
        self._vlan("add", port, vlan, "pvid", "untagged")
        if vlan != self.default_vlan:
            self._delete(port, self.default_vlan)

    def unbind(self, port: SwitchPort, vlan: int) -> None:
        self._vlan("add", port, self.default_vlan, "pvid", "untagged")
        if vlan != self.default_vlan:
            self._delete(port, vlan)

    def _delete(self, port: SwitchPort, vlan: int) -> None:
        # Deleting a VLAN the port is not in fails; the caller only wants it gone
        # (the add just before succeeded, so the device exists).
        with contextlib.suppress(SwitchError):
            self._vlan("del", port, vlan)
