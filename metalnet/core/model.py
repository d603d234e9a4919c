"""The domain records: networks, subnets and ports.

Plain frozen dataclasses with no framework. Addresses are kept as strings in the
canonical form :mod:`ipaddress` prints, MACs as lowercase ``aa:bb:cc:dd:ee:ff``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any


@dataclass(frozen=True, slots=True)
class ExtraDhcpOpt:
    """A DHCP option attached to a port, in Neutron's form.

    ``opt_name`` may carry one ``tag:NAME,`` or ``tag:!NAME,`` prefix
    (see :mod:`metalnet.core.dhcp_opts`).
    """

    opt_name: str
    opt_value: str
    ip_version: int = 4


@dataclass(frozen=True, slots=True)
class Network:
    """An L2 domain. ``physical_network`` names the wire it lives on.

    ``boot_dhcp_opts`` replaces the host's default boot options for ports that
    set none; ``discovery_profile_id`` is what unknown machines boot under the
    ``discover`` policy.
    """

    id: str
    project_id: str
    name: str = ""
    description: str = ""
    admin_state_up: bool = True
    shared: bool = False
    status: str = "ACTIVE"
    mtu: int = 1500
    network_type: str = "flat"
    physical_network: str | None = None
    segmentation_id: int | None = None
    unknown_mac_policy: str = "ignore"
    boot_dhcp_opts: tuple[ExtraDhcpOpt, ...] = ()
    discovery_profile_id: str | None = None
    tags: tuple[str, ...] = ()
    revision_number: int = 0
    created_at: datetime | None = None
    updated_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class AllocationPool:
    """An inclusive range of addresses that IPAM may hand out."""

    start: str
    end: str


@dataclass(frozen=True, slots=True)
class HostRoute:
    """A static route sent to clients (DHCP option 121)."""

    destination: str
    nexthop: str


@dataclass(frozen=True, slots=True)
class Subnet:
    """An IPv4 subnet of a network."""

    id: str
    network_id: str
    project_id: str
    cidr: str
    name: str = ""
    description: str = ""
    ip_version: int = 4
    gateway_ip: str | None = None
    enable_dhcp: bool = True
    allocation_pools: tuple[AllocationPool, ...] = ()
    dns_nameservers: tuple[str, ...] = ()
    host_routes: tuple[HostRoute, ...] = ()
    tags: tuple[str, ...] = ()
    revision_number: int = 0
    created_at: datetime | None = None
    updated_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class FixedIP:
    """One address a port holds on a subnet."""

    subnet_id: str
    ip_address: str


@dataclass(frozen=True, slots=True)
class Port:
    """A MAC address attached to a network, with its addresses and DHCP options."""

    id: str
    network_id: str
    project_id: str
    mac_address: str
    name: str = ""
    description: str = ""
    fixed_ips: tuple[FixedIP, ...] = ()
    device_id: str = ""
    device_owner: str = ""
    binding_host_id: str = ""
    binding_vnic_type: str = "normal"
    binding_profile: dict[str, Any] = field(default_factory=dict)
    extra_dhcp_opts: tuple[ExtraDhcpOpt, ...] = ()
    boot_profile_id: str | None = None
    admin_state_up: bool = True
    status: str = "DOWN"
    tags: tuple[str, ...] = ()
    revision_number: int = 0
    created_at: datetime | None = None
    updated_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class Sighting:
    """What is known of an unknown MAC: when, how often, and what it said."""

    mac: str
    network_id: str | None
    first_seen: float
    last_seen: float
    count: int
    vendor_class: str | None
    client_arch: int | None
    user_class: str | None
    giaddr: str | None
    relay_circuit_id: str | None
    relay_remote_id: str | None
    policy: str


@dataclass(frozen=True, slots=True)
class Hypervisor:
    """A host that serves boot files to the nodes it owns.

    ``name`` is the value ports carry in ``binding:host_id``; it never changes.
    ``boot_address`` is the next-server (siaddr) and TFTP server of its nodes,
    ``http_boot_url`` the base of its HTTP boot (``http://198.18.0.2:8080``; empty:
    ``boot_address`` on the default HTTP port). ``dhcp_opts``, when set, replace
    the option set built from those two. Liveness is not here: heartbeats are
    kept apart (:class:`Heartbeat`) so they never churn the change feed.
    """

    id: str
    name: str
    boot_address: str
    description: str = ""
    http_boot_url: str = ""
    physical_networks: tuple[str, ...] = ()
    dhcp_opts: tuple[ExtraDhcpOpt, ...] = ()
    revision_number: int = 0
    created_at: datetime | None = None
    updated_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class Heartbeat:
    """The last sign of life of a hypervisor and the feed revision its view applied."""

    hypervisor_id: str
    at: datetime
    view_revision: int = 0


@dataclass(frozen=True, slots=True)
class NodeMac:
    """One MAC of a node, with the switch port it is cabled to (when known)."""

    mac: str
    switch_id: str | None = None
    port_id: str | None = None


@dataclass(frozen=True, slots=True)
class Node:
    """A bare-metal machine, known only by its MACs.

    ``owner`` pins the node to a hypervisor (by name); ``effective_owner`` is the
    hypervisor that serves its boot files now: the pinned one, else the one the
    ownership ring picks among live hypervisors (``None`` when none is alive).
    ``state`` is one of :data:`metalnet.core.states.NodeState`.
    """

    id: str
    name: str
    macs: tuple[NodeMac, ...] = ()
    description: str = ""
    boot_profile_id: str | None = None
    firmware: str = "auto"
    owner: str | None = None
    effective_owner: str | None = None
    state: str = "enrolled"
    error_reason: str = ""
    instance_id: str | None = None
    revision_number: int = 0
    created_at: datetime | None = None
    updated_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class InstancePort:
    """A port an instance uses; ``created`` ports (just in time) die with it.

    On a virtualised network the switch port was moved into ``vlan`` by the
    switch driver of ``physical_network``.
    """

    port_id: str
    network_id: str
    mac: str
    created: bool
    physical_network: str | None = None
    switch_id: str | None = None
    switch_port: str | None = None
    vlan: int | None = None


@dataclass(frozen=True, slots=True)
class Instance:
    """A node given to a user: its ports and what it boots.

    ``status``: ``building`` while spawning, ``active``, ``deleting``, ``error``.
    """

    id: str
    name: str
    project_id: str
    node_id: str
    boot_profile_id: str | None = None
    status: str = "building"
    fault: str = ""
    ports: tuple[InstancePort, ...] = ()
    revision_number: int = 0
    created_at: datetime | None = None
    updated_at: datetime | None = None
