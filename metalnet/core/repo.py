"""The storage interfaces the domain needs; :mod:`metalnet.store` implements them."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol, TypeVar

from metalnet.core.boot import BootProfile
from metalnet.core.model import (
    Heartbeat,
    Hypervisor,
    Instance,
    Network,
    Node,
    Port,
    Subnet,
)

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class ListQuery:
    """A list request: filters, order and page.

    :ivar filters: field name -> accepted values ("any of"); values are already
        converted to the field's type. ``fixed_ips.ip_address`` and
        ``fixed_ips.subnet_id`` filter on a port's addresses; ``tags``,
        ``tags-any``, ``not-tags``, ``not-tags-any`` on tags.
    :ivar sorts: (field, ascending) pairs; ``id`` is always the last tie-breaker.
    :ivar marker: id of the last item of the previous page (``MarkerNotFound``
        when no item has it).
    :ivar page_reverse: walk backwards from the marker (for "previous" links).
    :ivar visible_to_project: restrict to this project's resources (plus shared
        networks); ``None`` for admins.
    """

    filters: Mapping[str, Sequence[Any]] = field(default_factory=dict)
    sorts: tuple[tuple[str, bool], ...] = ()
    limit: int | None = None
    marker: str | None = None
    page_reverse: bool = False
    visible_to_project: str | None = None


class Repo(Protocol[T]):
    """Operations every resource store has."""

    def get(self, resource_id: str) -> T | None:
        """The resource, or ``None``."""

    def list(self, query: ListQuery) -> list[T]:
        """Resources matching ``query``, in its order, at most ``query.limit``."""

    def add_many(self, items: Sequence[T]) -> None:
        """Insert new resources."""

    def update(self, item: T) -> None:
        """Replace a stored resource by id."""

    def delete(self, resource_id: str) -> None:
        """Remove a resource (no error when absent)."""


class NetworkRepo(Repo[Network], Protocol):
    """Networks."""


class SubnetRepo(Repo[Subnet], Protocol):
    """Subnets."""

    def for_network(self, network_id: str) -> list[Subnet]:
        """Subnets of a network, oldest first."""

    def lock(self, subnet_id: str) -> None:
        """Serialise address allocation on this subnet until the unit of work ends."""


class PortRepo(Repo[Port], Protocol):
    """Ports and the addresses they hold."""

    def count_on_network(self, network_id: str) -> int:
        """How many ports a network has."""

    def count_on_subnet(self, subnet_id: str) -> int:
        """How many ports hold an address on a subnet."""

    def macs_in_use(self, network_id: str, macs: Sequence[str]) -> set[str]:
        """Which of ``macs`` already have a port on the network."""

    def ips_in_use(self, subnet_id: str, low: int, high: int) -> set[int]:
        """Addresses (as integers) held by ports on the subnet within [low, high]."""

    def highest_ip_in_use(self, subnet_id: str, low: int, high: int) -> int | None:
        """The highest address held on the subnet within [low, high]."""


class BootProfileRepo(Repo[BootProfile], Protocol):
    """Boot profiles."""

    def by_name(self, name: str) -> BootProfile | None:
        """The profile with this name, or ``None``."""


class HypervisorRepo(Repo[Hypervisor], Protocol):
    """Hypervisors and their heartbeats."""

    def by_name(self, name: str) -> Hypervisor | None:
        """The hypervisor with this name, or ``None``."""

    def beat(self, heartbeat: Heartbeat) -> None:
        """Record a heartbeat (replacing the previous one; not a change of the feed)."""

    def heartbeats(self) -> dict[str, Heartbeat]:
        """hypervisor id -> its last heartbeat (hypervisors never heard are absent)."""


class NodeRepo(Repo[Node], Protocol):
    """Nodes and their MACs (a MAC belongs to one node at most)."""

    def by_name(self, name: str) -> Node | None:
        """The node with this name, or ``None``."""

    def by_macs(self, macs: Sequence[str]) -> list[Node]:
        """Nodes holding any of ``macs``."""

    def lock(self, node_id: str) -> None:
        """Serialise changes of this node until the unit of work ends."""


class InstanceRepo(Repo[Instance], Protocol):
    """Instances (at most one per node)."""


class UnitOfWork(Protocol):
    """One transaction over every repository, plus the change feed.

    Used as a context manager: leaving the block without :meth:`commit` rolls
    back. A commit returns only once the change is durable.
    """

    networks: NetworkRepo
    subnets: SubnetRepo
    ports: PortRepo
    boot_profiles: BootProfileRepo
    hypervisors: HypervisorRepo
    nodes: NodeRepo
    instances: InstanceRepo

    def __enter__(self) -> UnitOfWork: ...

    def __exit__(self, exc_type: object, exc: object, traceback: object, /) -> None: ...

    def commit(self) -> None:
        """Make the work durable and publish its changes to the feed."""

    def record_change(self, kind: str, resource_id: str, body: Mapping[str, Any] | None) -> None:
        """Append a change to the feed; ``body`` ``None`` means deleted."""
