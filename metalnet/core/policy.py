"""What a network does with a MAC it has no port for (``unknown_mac_policy``).

``ignore`` (the default: no answer, the sighting is recorded), ``pool`` (an
address from the allocation pools, no boot options), ``discover`` (a pool
address and the network's discovery boot options), ``delay:N`` (answer like
``pool`` only once the client's ``secs`` field reaches N: the deliberately slow
fallback server) and ``proxy`` (proxyDHCP: boot options only, no address).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass


class PolicyKind(enum.Enum):
    """The unknown-MAC behaviours."""

    IGNORE = "ignore"
    POOL = "pool"
    DISCOVER = "discover"
    DELAY = "delay"
    PROXY = "proxy"


MAX_DELAY_SECONDS = 3600


class PolicyError(ValueError):
    """The policy text is not one of the accepted forms."""


@dataclass(frozen=True, slots=True)
class UnknownPolicy:
    """A parsed ``unknown_mac_policy``; ``delay`` is only set for ``DELAY``."""

    kind: PolicyKind
    delay: int = 0

    @classmethod
    def parse(cls, text: str) -> UnknownPolicy:
        """Parse ``ignore``, ``pool``, ``discover``, ``proxy`` or ``delay:N``.

        :raises PolicyError: anything else.
        """
        name, sep, arg = text.strip().lower().partition(":")
        if name == "delay":
            if not sep or not arg.isdigit() or not 1 <= int(arg) <= MAX_DELAY_SECONDS:
                raise PolicyError(
                    f"'{text}': delay needs seconds, as in delay:5 (1-{MAX_DELAY_SECONDS})"
                )
            return cls(PolicyKind.DELAY, int(arg))
        try:
            kind = PolicyKind(name)
        except ValueError as exc:
            raise PolicyError(
                f"'{text}' is not a policy: use ignore, pool, discover, proxy or delay:N"
            ) from exc
        if sep:
            raise PolicyError(f"'{text}': only delay takes an argument")
        return cls(kind)

    def __str__(self) -> str:
        return f"delay:{self.delay}" if self.kind is PolicyKind.DELAY else self.kind.value
