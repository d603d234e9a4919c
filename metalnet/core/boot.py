"""Boot profiles and the one decision every boot protocol asks: what does this MAC boot?

A profile is one of three kinds:

- ``kernel``: a kernel, optional initrds and a command line (paths under the boot
  directory, or http(s) URLs);
- ``script``: a raw iPXE script;
- ``chain``: a URL iPXE chains to.

:func:`decide_boot` is the narrow, idempotent seam DHCP, TFTP and HTTP share: it
may be called several times per boot and always gives the same answer for the
same view. :data:`BootDefaults` is the other seam: the DHCP engine asks it for the
boot options of a machine whose port sets none, and the boot side
(:mod:`metalnet.boot.defaults`) answers.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from metalnet.core.model import ExtraDhcpOpt, Network, Port
from metalnet.errors import Conflict, InvalidInput, NotFound

if TYPE_CHECKING:
    from metalnet.core.view import BootView

PROFILE_KINDS = ("kernel", "script", "chain")
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,62}")
_URL = re.compile(r"https?://[^\s]+")
MAX_SCRIPT = 64 * 1024


class BootProfileNotFound(NotFound):
    message_format = "Boot profile {id} could not be found."


class BootProfileInUse(Conflict):
    message_format = "Boot profile {id} is in use by a port or a network."


@dataclass(frozen=True, slots=True)
class BootProfile:
    """What a machine boots (see the module docstring)."""

    id: str
    name: str
    project_id: str
    description: str = ""
    kernel: str | None = None
    initrds: tuple[str, ...] = ()
    cmdline: str = ""
    script: str | None = None
    chain_url: str | None = None
    revision_number: int = 0
    created_at: datetime | None = None
    updated_at: datetime | None = None

    @property
    def kind(self) -> str:
        """``kernel``, ``script`` or ``chain``."""
        if self.script is not None:
            return "script"
        if self.chain_url is not None:
            return "chain"
        return "kernel"


def _check_file(value: str, what: str) -> str:
    if _URL.fullmatch(value):
        return value
    parts = value.strip("/").split("/")
    unsafe = any(c.isspace() or not c.isprintable() or c == "\\" for c in value)
    if not value or unsafe or any(p in ("", ".", "..") for p in parts):
        raise InvalidInput(
            reason=f"{what} '{value}' must be a path inside the boot directory or an http(s) URL"
            " (no spaces or control characters)"
        )
    return "/".join(parts)


def validated_profile(profile: BootProfile) -> BootProfile:
    """Check a profile's shape and normalise its paths.

    :raises InvalidInput: not exactly one kind, a bad name, path, URL, or script.
    """
    if not _NAME.fullmatch(profile.name):
        raise InvalidInput(
            reason=f"boot profile name '{profile.name}': 1-63 letters, digits, '.', '_' or '-'"
        )
    kinds = [profile.kernel is not None, profile.script is not None, profile.chain_url is not None]
    if kinds.count(True) != 1:
        raise InvalidInput(reason="a boot profile has exactly one of kernel, script, chain_url")
    if profile.kernel is None and (profile.initrds or profile.cmdline):
        raise InvalidInput(reason="initrds and cmdline belong with a kernel")
    script = profile.script
    if script is not None and (not script.startswith("#!ipxe") or len(script) > MAX_SCRIPT):
        raise InvalidInput(reason="script must start with '#!ipxe' and be at most 64 KiB")
    if profile.chain_url is not None and not _URL.fullmatch(profile.chain_url):
        raise InvalidInput(reason=f"chain_url '{profile.chain_url}' is not an http(s) URL")
    if "\n" in profile.cmdline or len(profile.cmdline) > 4096:
        raise InvalidInput(reason="cmdline is one line of at most 4096 characters")
    kernel = None if profile.kernel is None else _check_file(profile.kernel, "kernel")
    initrds = tuple(_check_file(i, "initrd") for i in profile.initrds)
    return dataclasses.replace(profile, kernel=kernel, initrds=initrds)


def profile_from_attrs(attrs: Mapping[str, Any], base: BootProfile) -> BootProfile:
    """``base`` with the attributes a caller set (``initrds`` as a list)."""
    values = dict(attrs)
    if "initrds" in values:
        values["initrds"] = tuple(values["initrds"])
    return validated_profile(dataclasses.replace(base, **values))


@dataclass(frozen=True, slots=True)
class BootSpec:
    """The answer of :func:`decide_boot`: the profile a MAC boots, or why none.

    :ivar profile: ``None`` when the machine should boot its local disk.
    :ivar reason: why there is no profile (shown to the operator and in the script).
    """

    mac: str
    profile: BootProfile | None
    reason: str = ""


def decide_boot(view: BootView, mac: str, seen_on: str | None = None) -> BootSpec:
    """What ``mac`` boots: the profile named by its port (the first with one).

    A MAC with no port boots its network's discovery profile when ``seen_on`` (the
    id of the network where the MAC holds a dynamic lease, as the DHCP lease store
    tells) has the ``discover`` policy and names one; otherwise nothing.

    Idempotent and cheap: DHCP, TFTP and HTTP may each ask during one boot.
    """
    ports = view.ports_for_mac(mac)
    if not ports:
        return _discovery_spec(view, mac, seen_on)
    named = [p.boot_profile_id for p in ports.values() if p.boot_profile_id]
    if not named:
        return BootSpec(mac, None, "no boot profile assigned")
    profile = view.profiles.get(named[0])
    if profile is None:
        return BootSpec(mac, None, f"boot profile {named[0]} does not exist")
    return BootSpec(mac, profile)


def _discovery_spec(view: BootView, mac: str, network_id: str | None) -> BootSpec:
    network = view.networks.get(network_id) if network_id else None
    if network is None:
        return BootSpec(mac, None, "unknown machine")
    policy = network.unknown_mac_policy.strip().lower()
    if policy != "discover":
        return BootSpec(mac, None, f"unknown machine (policy {policy})")
    if not network.discovery_profile_id:
        return BootSpec(mac, None, "unknown machine (the network has no discovery profile)")
    profile = view.profiles.get(network.discovery_profile_id)
    if profile is None:
        return BootSpec(
            mac, None, f"discovery profile {network.discovery_profile_id} does not exist"
        )
    return BootSpec(mac, profile, "discovery")


BootDefaults = Callable[[Network, Port | None, str, int], tuple[ExtraDhcpOpt, ...]]
"""(network, port, purpose, server address) -> the fallback option set.

``port`` is the asking machine's port (``None`` for unknown machines): a node's
port gets the option set of the hypervisor owning the node. The engine caches
answers per port, network and owner (:meth:`BootView.boot_owner_key`), so the
fallback may depend on nothing else in the view.

``purpose`` is ``boot`` for ports, ``discovery`` for unknown machines under the
``discover`` policy, ``none`` otherwise; the server address is the ingress
interface's, so options can point clients back at this host.
"""


def no_defaults(
    _network: Network, _port: Port | None, _purpose: str, _server_ip: int
) -> tuple[ExtraDhcpOpt, ...]:
    """A fallback that sets nothing."""
    return ()
