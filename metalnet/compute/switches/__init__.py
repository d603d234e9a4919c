"""Switch drivers: what makes an L2 network "virtualised" for bare metal.

A physical network with a switch driver can move a machine's switch port into
the VLAN of the network an instance asks for, so ports there are created just in
time and deleted with the instance. Without a driver, the cabling decides the
network, and ports are the ones an administrator registered.

A driver is two methods (:class:`SwitchDriver`); drivers are built from
``--switch-driver PHYSNET:KIND[:ARGUMENT]`` through the :data:`DRIVERS` table.
Vendor drivers (NETCONF, a switch's REST API, ...) go in this package as
``<vendor>.py`` and add one entry to :data:`DRIVERS` (see docs/0005-compute.md).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

from metalnet.compute.switches.base import SwitchDriver, SwitchError, SwitchPort
from metalnet.compute.switches.linux_bridge import LinuxBridgeDriver
from metalnet.errors import InvalidInput

__all__ = ["DRIVERS", "SwitchDriver", "SwitchError", "SwitchPort", "load_drivers"]

DRIVERS: dict[str, Callable[[str | None], SwitchDriver]] = {
    "linux-bridge": LinuxBridgeDriver.from_argument,
}
"""Driver kind -> factory taking the optional argument of ``--switch-driver``."""


def load_drivers(specs: Sequence[str]) -> Mapping[str, SwitchDriver]:
    """Physical network -> driver, from ``PHYSNET:KIND[:ARGUMENT]`` strings.

    :raises InvalidInput: a malformed spec or an unknown kind.
    """
    drivers: dict[str, SwitchDriver] = {}
    for spec in specs:
        physnet, _, rest = spec.partition(":")
        kind, _, argument = rest.partition(":")
        if not physnet or kind not in DRIVERS:
            known = ", ".join(sorted(DRIVERS))
            raise InvalidInput(reason=f"switch driver '{spec}': PHYSNET:KIND[:ARG], KIND one "
                                      f"of {known}")
        drivers[physnet] = DRIVERS[kind](argument or None)
    return drivers
