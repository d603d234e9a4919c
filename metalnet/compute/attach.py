"""``allocate_for_instance``: a node's ports, found by its MACs, bound to an instance.

- On a non-virtualised network (no switch driver for its physical network, or
  not a VLAN network) the cabling decides the network: the port is the one an
  administrator registered for one of the node's MACs; it is bound (device,
  ``baremetal:none``, the owner in ``binding:host_id``, vnic ``baremetal``) and
  on destroy only unbound: it outlives the instance.
- On a virtualised network the switch driver moves the node's switch port into
  the network's VLAN, and a port is created just in time from the MAC and the
  network; it is deleted on destroy.

The port always carries the node's real MAC. Every step that changed something
is recorded as it happens, so a spawn failing half way undoes exactly what it
did (:meth:`Attacher.deallocate_for_instance`) and leaves no orphan port or
binding. Look-ups go through a :class:`~metalnet.compute.cache.NetworkCache`.
"""

from __future__ import annotations

import contextlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

from metalnet.compute.cache import NetworkCache
from metalnet.compute.network_api import Body
from metalnet.compute.switches import SwitchDriver, SwitchPort
from metalnet.core.model import InstancePort, Node, NodeMac
from metalnet.core.ownership import BAREMETAL_OWNER
from metalnet.errors import (
    Conflict,
    InvalidInput,
    MetalnetError,
    NotFound,
    PortNotFound,
    PreconditionFailed,
    Unavailable,
)


class NoPortForNode(NotFound):
    message_format = (
        "No port for node {node} on network {network}: none of its MACs ({macs}) has a port "
        "there, and the network is not virtualised (an administrator registers the port)."
    )


class PortInUse(Conflict):
    message_format = "Port {port} (MAC {mac}) is bound to device {device}."


class DetachFailed(Unavailable):
    message_format = "Could not release port(s) {ports}: {reason}"


@dataclass(frozen=True, slots=True)
class _Switching:
    """A virtualised network's switching: its physical network's driver and its VLAN
    (``None`` when the network names none: ports are made just in time, no switch
    port moves)."""

    driver: SwitchDriver
    physical_network: str
    vlan: int | None


@dataclass(frozen=True, slots=True)
class Attachment:
    """Who is attached: the instance, its node, the owner's name, the boot profile."""

    instance_id: str
    node: Node
    host: str
    boot_profile_id: str | None = None


class Attacher:
    """Binds and unbinds a node's ports through a cache over a network API.

    :param switches: physical network -> switch driver (the virtualised ones).
    """

    def __init__(self, cache: NetworkCache, switches: Mapping[str, SwitchDriver]) -> None:
        self.cache = cache
        self.switches = switches

    # ------------------------------------------------------------------ attach

    def allocate_for_instance(
        self, request: Attachment, network_ids: Sequence[str], port_ids: Sequence[str] = ()
    ) -> tuple[InstancePort, ...]:
        """Attach the node to every network and bind every given port.

        :raises NoPortForNode: a non-virtualised network has no port for any of its MACs.
        :raises PortInUse: the port is bound to another device.
        :raises InvalidInput: a given port's MAC is not the node's, or a virtualised
            network needs switch port information the node's MACs lack.
        :raises DetachFailed: attaching failed and undoing it failed too (the
            message names what is left).
        """
        done: list[InstancePort] = []
        try:
            for network_id in network_ids:
                self._attach_network(request, network_id, done)
            for port_id in port_ids:
                self._attach_port(request, port_id, done)
        except Exception:
            self.deallocate_for_instance(request.instance_id, done, request.boot_profile_id)
            raise
        return tuple(done)

    def _virtual(self, network: Body) -> _Switching | None:
        """The network's switching, or ``None`` when it is not virtualised."""
        physnet = network.get("provider:physical_network")
        if network.get("provider:network_type") != "vlan" or physnet not in self.switches:
            return None
        assert physnet is not None
        return _Switching(self.switches[physnet], physnet, network.get("provider:segmentation_id"))

    def _attach_network(
        self, request: Attachment, network_id: str, done: list[InstancePort]
    ) -> None:
        virtual = self._virtual(self.cache.network(network_id))
        for node_mac in request.node.macs:
            port = self.cache.port_for(node_mac.mac, network_id)
            if port is not None:
                self._bind(request, port, node_mac, done, virtual)
                return
        if virtual is None:
            macs = ", ".join(m.mac for m in request.node.macs) or "none"
            raise NoPortForNode(node=request.node.name, network=network_id, macs=macs)
        node_mac = _cabled_mac(request.node, network_id)
        body = {"network_id": network_id, "mac_address": node_mac.mac,
                **_binding(request, node_mac)}
        created = self.cache.api.create_port(body)
        self.cache.remember("ports", created)
        done.append(InstancePort(created["id"], network_id, node_mac.mac, True))
        self._bind_switch(node_mac, done, virtual)

    def _attach_port(self, request: Attachment, port_id: str, done: list[InstancePort]) -> None:
        port = self.cache.port(port_id)
        if port is None:
            raise PortNotFound(id=port_id)
        node_mac = next((m for m in request.node.macs if m.mac == port["mac_address"]), None)
        if node_mac is None:
            raise InvalidInput(reason=f"port {port_id} has MAC {port['mac_address']}, which is "
                                      f"not a MAC of node {request.node.name}")
        self._bind(request, port, node_mac, done,
                   self._virtual(self.cache.network(port["network_id"])))

    def _bind(
        self, request: Attachment, port: Body, node_mac: NodeMac, done: list[InstancePort],
        virtual: _Switching | None,
    ) -> None:
        device = port.get("device_id") or ""
        if device and device != request.instance_id:
            raise PortInUse(port=port["id"], mac=port["mac_address"], device=device)
        self._update(request.instance_id, port, _binding(request, node_mac))
        done.append(InstancePort(port["id"], port["network_id"], node_mac.mac, False))
        self._bind_switch(node_mac, done, virtual)

    def _bind_switch(
        self, node_mac: NodeMac, done: list[InstancePort], virtual: _Switching | None
    ) -> None:
        if virtual is None or virtual.vlan is None:
            return
        # Recorded before the call: a bind failing half way is undone too (unbind is
        # idempotent).
        assert node_mac.port_id is not None
        done[-1] = replace(done[-1], physical_network=virtual.physical_network,
                           switch_id=node_mac.switch_id, switch_port=node_mac.port_id,
                           vlan=virtual.vlan)
        virtual.driver.bind(SwitchPort(node_mac.switch_id, node_mac.port_id), virtual.vlan)

    def _update(self, instance_id: str, port: Body, body: Body) -> None:
        """Write with If-Match on the revision held; after a 412, read again and retry
        once, if the port is still free or the instance's.

        :raises PortNotFound: the port is gone.
        :raises PortInUse: another device took it meanwhile.
        :raises PreconditionFailed: it changed again before the retry.
        """
        try:
            updated = self.cache.api.update_port(port["id"], body, port["revision_number"])
        except PreconditionFailed:
            self.cache.forget("ports", port["id"])
            current = self.cache.port(port["id"])
            if current is None:
                raise PortNotFound(id=port["id"]) from None
            if current.get("device_id") not in ("", instance_id):
                raise PortInUse(port=port["id"], mac=current["mac_address"],
                                device=current["device_id"]) from None
            updated = self.cache.api.update_port(port["id"], body, current["revision_number"])
        self.cache.remember("ports", updated)

    # ------------------------------------------------------------------ detach

    def deallocate_for_instance(
        self, instance_id: str, ports: Sequence[InstancePort], boot_profile_id: str | None = None
    ) -> None:
        """Undo an attachment, newest first: switch ports back to their default VLAN,
        just-in-time ports deleted, registered ports unbound. Idempotent.

        :raises DetachFailed: some could not be released (all others were).
        """
        left: list[str] = []
        reasons: list[str] = []
        for port in reversed(ports):
            try:
                self._release(instance_id, port, boot_profile_id)
            except (MetalnetError, KeyError) as exc:
                left.append(port.port_id)
                reasons.append(exc.message if isinstance(exc, MetalnetError) else repr(exc))
        if left:
            raise DetachFailed(ports=", ".join(left), reason="; ".join(reasons))

    def _release(
        self, instance_id: str, port: InstancePort, boot_profile_id: str | None
    ) -> None:
        if port.vlan is not None and port.physical_network is not None:
            assert port.switch_port is not None
            self.switches[port.physical_network].unbind(
                SwitchPort(port.switch_id, port.switch_port), port.vlan
            )
        if port.created:
            with contextlib.suppress(NotFound):  # already gone: that is what was wanted
                self.cache.api.delete_port(port.port_id)
            self.cache.forget("ports", port.port_id)
            return
        current = self.cache.port(port.port_id)
        if current is not None and current.get("device_id") == instance_id:
            unbound: Body = {"device_id": "", "device_owner": "", "binding:host_id": "",
                             "binding:profile": {}}
            if boot_profile_id is not None:
                unbound["boot_profile"] = None
            self._update(instance_id, current, unbound)


def _binding(request: Attachment, node_mac: NodeMac) -> dict[str, Any]:
    body: dict[str, Any] = {
        "device_id": request.instance_id,
        "device_owner": BAREMETAL_OWNER,
        "binding:host_id": request.host,
        "binding:vnic_type": "baremetal",
    }
    if node_mac.port_id is not None:
        body["binding:profile"] = {"local_link_information": [
            {"switch_id": node_mac.switch_id, "port_id": node_mac.port_id}]}
    if request.boot_profile_id is not None:
        body["boot_profile"] = request.boot_profile_id
    return body


def _cabled_mac(node: Node, network_id: str) -> NodeMac:
    """The node's first MAC with switch port information (needed to move its VLAN).

    :raises InvalidInput: none has any.
    """
    for node_mac in node.macs:
        if node_mac.port_id is not None:
            return node_mac
    raise InvalidInput(reason=f"network {network_id} is virtualised: node {node.name} needs a "
                              "MAC with switch port information (switch_id, port_id)")
