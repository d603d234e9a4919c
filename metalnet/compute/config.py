"""What the compute side runs with; built by the composition root (the CLI)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime

from metalnet.compute.switches import SwitchDriver
from metalnet.core.resources import utc_now

DEAD_AFTER = 30.0
"""Seconds without a heartbeat after which a hypervisor is dead (its nodes move)."""


@dataclass(frozen=True)
class ComputeConfig:
    """Hypervisor liveness, switch drivers and the clock.

    :ivar dead_after: seconds without a heartbeat before a hypervisor is dead.
    :ivar switches: physical network -> switch driver (virtualised networks).
    :ivar clock: the current time (tests inject one).
    """

    dead_after: float = DEAD_AFTER
    switches: Mapping[str, SwitchDriver] = field(default_factory=dict)
    clock: Callable[[], datetime] = utc_now
