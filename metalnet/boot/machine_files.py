"""The rendered, per-machine files served over TFTP and HTTP (they take
precedence over the boot directory at the same paths)::

    boot.ipxe                          every iPXE client chains to its own script
    boot/<mac>.ipxe                    the machine's iPXE script
    pxelinux.cfg/01-<mac-with-dashes>  pxelinux configuration (BIOS via TFTP)
    grub.cfg-01-<mac-with-dashes>      grub configuration (UEFI), also under grub/

MACs may be written with ``:`` or ``-`` and in any case.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from metalnet.boot import render
from metalnet.core.boot import BootSpec, decide_boot
from metalnet.core.mac import canonical_mac
from metalnet.core.view import BootView

# A MAC in the file name, in either notation (canonical_mac checks it whole).
_MAC = r"([0-9a-fA-F:-]{17})"
_MACHINE_FILES: tuple[tuple[re.Pattern[str], Callable[[BootSpec], str]], ...] = (
    (re.compile(rf"^boot/{_MAC}\.ipxe$"), lambda s: render.render_ipxe(s.profile, s.reason)),
    (re.compile(rf"^pxelinux\.cfg/01-{_MAC}$"), lambda s: render.render_pxelinux(s.profile)),
    (re.compile(rf"^(?:grub/)?grub\.cfg-01-{_MAC}$"), lambda s: render.render_grub(s.profile)),
)


LocateUnknown = Callable[[str], str | None]
"""MAC -> id of the network where that (port-less) MAC holds a dynamic lease."""


class MachineFiles:
    """Renders per-machine files from the view; ``None`` for any other path.

    :param locate_unknown: where a MAC with no port got its lease, so an unknown
        machine on a ``discover`` network gets the discovery profile.
    """

    def __init__(self, view: BootView, locate_unknown: LocateUnknown | None = None) -> None:
        self.view = view
        self.locate_unknown = locate_unknown

    def _decide(self, mac: str) -> BootSpec:
        seen_on = None
        if self.locate_unknown is not None and not self.view.is_known(mac):
            seen_on = self.locate_unknown(mac)
        return decide_boot(self.view, mac, seen_on)

    def render(self, path: str) -> bytes | None:
        """The file at ``path`` (already normalised by the file source), or ``None``."""
        if path == "boot.ipxe":
            return render.chain_script().encode()
        for pattern, render_file in _MACHINE_FILES:
            if match := pattern.match(path):
                try:
                    mac = canonical_mac(match.group(1))
                except ValueError:
                    return None
                return render_file(self._decide(mac)).encode()
        return None
