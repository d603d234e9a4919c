"""SQL implementations of the :mod:`metalnet.core.repo` protocols."""

from __future__ import annotations

import contextlib
import ipaddress
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Any, ClassVar, Generic, TypeVar

from sqlalchemy import (
    ColumnElement,
    Connection,
    Select,
    String,
    Table,
    cast,
    delete,
    exists,
    func,
    insert,
    or_,
    select,
    update,
)
from sqlalchemy.exc import IntegrityError

from metalnet.core.boot import BootProfile
from metalnet.core.model import (
    AllocationPool,
    FixedIP,
    Heartbeat,
    HostRoute,
    Hypervisor,
    Instance,
    InstancePort,
    Network,
    Node,
    NodeMac,
    Port,
    Subnet,
)
from metalnet.core.records import (
    Resource,
    Tagged,
    instance_port_record,
    opts_from_rows,
    opts_to_rows,
)
from metalnet.core.repo import ListQuery
from metalnet.errors import Conflict, IpAddressInUse, MacAddressInUse
from metalnet.store import tables as t
from metalnet.store.listing import ListSpec, in_batches, marker_row, ordered_page, where_clause

T = TypeVar("T", Network, Subnet, Port, BootProfile, Hypervisor, Node, Instance)

_STANDARD = (
    "id",
    "project_id",
    "name",
    "description",
    "revision_number",
    "created_at",
    "updated_at",
)


def _columns(*names: str) -> dict[str, str]:
    return {name: name for name in (*_STANDARD, *names)}


def _plain_spec(table: Any, *names: str) -> ListSpec:
    """A list spec over plain columns (no tags, no special filters)."""
    return ListSpec(
        table, {n: n for n in ("id", "revision_number", "created_at", "updated_at", *names)}, {}
    )


def _tags_text(tags: Iterable[str]) -> str:
    tags = list(tags)
    return f",{','.join(tags)}," if tags else ""


def _tags_tuple(text: str) -> tuple[str, ...]:
    return tuple(tag for tag in text.split(",") if tag)


def _times_from_row(row: Mapping[Any, Any]) -> dict[str, Any]:
    return {
        "revision_number": row["revision_number"],
        "created_at": row["created_at"],
        "updated_at": row["updated_at"],
    }


def _times_to_row(obj: Resource) -> dict[str, Any]:
    return {
        "revision_number": obj.revision_number,
        "created_at": obj.created_at,
        "updated_at": obj.updated_at,
    }


def _standard_from_row(row: Mapping[Any, Any]) -> dict[str, Any]:
    return {
        "id": row["id"],
        "project_id": row["project_id"],
        "name": row["name"],
        "description": row["description"],
        "tags": _tags_tuple(row["tags"]),
        **_times_from_row(row),
    }


def _standard_to_row(obj: Tagged) -> dict[str, Any]:
    return {
        "id": obj.id,
        "project_id": obj.project_id,
        "name": obj.name,
        "description": obj.description,
        "tags": _tags_text(obj.tags),
        **_times_to_row(obj),
    }


def _integrity_conflict(exc: IntegrityError, network_id: str, detail: str) -> Conflict:
    """Name the unique rule a concurrent writer broke."""
    text = str(exc.orig)
    if "uq_ports_network_mac" in text or "ports.network_id, ports.mac_address" in text:
        return MacAddressInUse(net_id=network_id, mac=detail)
    if "uq_ip_allocations_subnet_ip" in text or "ip_allocations.subnet_id" in text:
        return IpAddressInUse(net_id=network_id, ip_address=detail)
    return Conflict(reason=f"conflicting change: {text.splitlines()[0]}")


class _TableRepo(Generic[T]):
    """Get/list/add/update/delete over one table; subclasses map rows.

    Writes run in a savepoint: a unique rule broken by a concurrent writer becomes
    the 409 :meth:`conflict` names. A repository whose resources own rows in another
    table (a port's addresses, a node's MACs) names it in :attr:`children`; those
    rows are rewritten with the resource and deleted before it.
    """

    spec: ListSpec
    children: ClassVar[tuple[Table, str] | None] = None
    """(table, foreign-key column) of the rows each resource owns."""

    def __init__(self, connection: Connection) -> None:
        self.connection = connection

    def to_row(self, obj: T) -> dict[str, Any]:
        raise NotImplementedError

    def from_rows(self, rows: Sequence[Mapping[Any, Any]]) -> list[T]:
        raise NotImplementedError

    def child_rows(self, items: Sequence[T]) -> list[dict[str, Any]]:
        """The rows of :attr:`children` the items own."""
        return []

    def conflict(self, exc: IntegrityError, items: Sequence[T]) -> Conflict | None:
        """The 409 a broken unique rule means for ``items``; ``None`` re-raises it."""
        return None

    def visibility(self, project_id: str) -> ColumnElement[bool]:
        return self.spec.table.c.project_id == project_id

    def selection(self) -> Select[Any]:
        """The SELECT whose rows :meth:`from_rows` maps (``get`` and ``list`` start from it)."""
        return select(self.spec.table)

    def _one(self, clause: ColumnElement[bool]) -> T | None:
        row = self.connection.execute(self.selection().where(clause)).first()
        return self.from_rows([row._mapping])[0] if row else None

    def get(self, resource_id: str) -> T | None:
        return self._one(self.spec.table.c.id == resource_id)

    def by_name(self, name: str) -> T | None:
        """The resource with this name (for tables where names are unique)."""
        return self._one(self.spec.table.c.name == name)

    def list(self, query: ListQuery) -> list[T]:
        statement = self.selection().where(where_clause(self.spec, query.filters))
        if query.visible_to_project is not None:
            statement = statement.where(self.visibility(query.visible_to_project))
        marker = marker_row(self.spec, self.connection, query.marker)
        statement = ordered_page(
            self.spec, statement, query.sorts, query.limit, marker, query.page_reverse
        )
        rows = [r._mapping for r in self.connection.execute(statement)]
        if query.page_reverse:
            rows.reverse()
        return self.from_rows(rows)

    @contextlib.contextmanager
    def _guarded(self, items: Sequence[T]) -> Iterator[None]:
        try:
            with self.connection.begin_nested():
                yield
        except IntegrityError as exc:
            conflict = self.conflict(exc, items)
            if conflict is None:
                raise
            raise conflict from exc

    def _insert_children(self, items: Sequence[T]) -> None:
        rows = self.child_rows(items)
        if self.children is not None and rows:
            self.connection.execute(insert(self.children[0]), rows)

    def _delete_children(self, resource_id: str) -> None:
        if self.children is not None:
            table, key = self.children
            self.connection.execute(delete(table).where(table.c[key] == resource_id))

    def add_many(self, items: Sequence[T]) -> None:
        if not items:
            return
        with self._guarded(items):
            self.connection.execute(insert(self.spec.table), [self.to_row(i) for i in items])
            self._insert_children(items)

    def update(self, item: T) -> None:
        table = self.spec.table
        with self._guarded([item]):
            self.connection.execute(
                update(table).where(table.c.id == item.id).values(self.to_row(item))
            )
            self._delete_children(item.id)
            self._insert_children([item])

    def delete(self, resource_id: str) -> None:
        table = self.spec.table
        self._delete_children(resource_id)
        self.connection.execute(delete(table).where(table.c.id == resource_id))


class _LockableRepo(_TableRepo[T]):
    """A repository whose rows a unit of work can lock until it ends.

    :param lock_rows: take row locks (``SELECT ... FOR UPDATE``, PostgreSQL); SQLite
        units of work already hold the write lock (``BEGIN IMMEDIATE``).
    """

    def __init__(self, connection: Connection, lock_rows: bool) -> None:
        super().__init__(connection)
        self.lock_rows = lock_rows

    def lock(self, resource_id: str) -> None:
        if self.lock_rows:
            table = self.spec.table
            self.connection.execute(
                select(table.c.id).where(table.c.id == resource_id).with_for_update()
            )


class SqlNetworkRepo(_TableRepo[Network]):
    """Networks in SQL."""

    spec = ListSpec(
        t.networks,
        _columns(
            "admin_state_up",
            "shared",
            "status",
            "mtu",
            "network_type",
            "physical_network",
            "segmentation_id",
            "unknown_mac_policy",
            "discovery_profile_id",
        ),
        {},
    )

    def visibility(self, project_id: str) -> ColumnElement[bool]:
        return or_(t.networks.c.project_id == project_id, t.networks.c.shared.is_(True))

    def to_row(self, obj: Network) -> dict[str, Any]:
        return {
            **_standard_to_row(obj),
            "admin_state_up": obj.admin_state_up,
            "shared": obj.shared,
            "status": obj.status,
            "mtu": obj.mtu,
            "network_type": obj.network_type,
            "physical_network": obj.physical_network,
            "segmentation_id": obj.segmentation_id,
            "unknown_mac_policy": obj.unknown_mac_policy,
            "boot_dhcp_opts": opts_to_rows(obj.boot_dhcp_opts),
            "discovery_profile_id": obj.discovery_profile_id,
        }

    def from_rows(self, rows: Sequence[Mapping[Any, Any]]) -> list[Network]:
        return [
            Network(
                **_standard_from_row(row),
                admin_state_up=row["admin_state_up"],
                shared=row["shared"],
                status=row["status"],
                mtu=row["mtu"],
                network_type=row["network_type"],
                physical_network=row["physical_network"],
                segmentation_id=row["segmentation_id"],
                unknown_mac_policy=row["unknown_mac_policy"],
                boot_dhcp_opts=opts_from_rows(row["boot_dhcp_opts"]),
                discovery_profile_id=row["discovery_profile_id"],
            )
            for row in rows
        ]


class SqlSubnetRepo(_LockableRepo[Subnet]):
    """Subnets in SQL."""

    spec = ListSpec(
        t.subnets,
        _columns("network_id", "cidr", "ip_version", "gateway_ip", "enable_dhcp"),
        {},
    )

    def visibility(self, project_id: str) -> ColumnElement[bool]:
        shared_network = exists().where(
            t.networks.c.id == t.subnets.c.network_id, t.networks.c.shared.is_(True)
        )
        return or_(t.subnets.c.project_id == project_id, shared_network)

    def to_row(self, obj: Subnet) -> dict[str, Any]:
        return {
            **_standard_to_row(obj),
            "network_id": obj.network_id,
            "cidr": obj.cidr,
            "ip_version": obj.ip_version,
            "gateway_ip": obj.gateway_ip,
            "enable_dhcp": obj.enable_dhcp,
            "allocation_pools": [[p.start, p.end] for p in obj.allocation_pools],
            "dns_nameservers": list(obj.dns_nameservers),
            "host_routes": [[r.destination, r.nexthop] for r in obj.host_routes],
        }

    def from_rows(self, rows: Sequence[Mapping[Any, Any]]) -> list[Subnet]:
        return [
            Subnet(
                **_standard_from_row(row),
                network_id=row["network_id"],
                cidr=row["cidr"],
                ip_version=row["ip_version"],
                gateway_ip=row["gateway_ip"],
                enable_dhcp=row["enable_dhcp"],
                allocation_pools=tuple(AllocationPool(s, e) for s, e in row["allocation_pools"]),
                dns_nameservers=tuple(row["dns_nameservers"]),
                host_routes=tuple(HostRoute(d, n) for d, n in row["host_routes"]),
            )
            for row in rows
        ]

    def for_network(self, network_id: str) -> list[Subnet]:
        statement = (
            self.selection()
            .where(t.subnets.c.network_id == network_id)
            .order_by(t.subnets.c.created_at, t.subnets.c.id)
        )
        return self.from_rows([r._mapping for r in self.connection.execute(statement)])


def _fixed_ip_filter(field: str) -> Any:
    def build(values: Sequence[Any]) -> ColumnElement[bool]:
        return exists().where(
            t.ip_allocations.c.port_id == t.ports.c.id,
            t.ip_allocations.c[field].in_([str(v) for v in values]),
        )

    return build


_FIELD, _ITEM = "|", ";"
_FIXED_IPS = (
    select(
        func.aggregate_strings(
            cast(t.ip_allocations.c.position, String) + _FIELD
            + t.ip_allocations.c.subnet_id + _FIELD + t.ip_allocations.c.ip_address,
            _ITEM,
        )
    )
    .where(t.ip_allocations.c.port_id == t.ports.c.id)
    .scalar_subquery()
    .label("fixed_ips")
)
"""A port's addresses as one ``position|subnet|ip;...`` text (the order is the database's)."""


def _fixed_ips_from_text(text: str | None) -> tuple[FixedIP, ...]:
    if not text:
        return ()
    entries = sorted((int(p), s, ip) for p, s, ip in (e.split(_FIELD) for e in text.split(_ITEM)))
    return tuple(FixedIP(subnet_id, ip) for _, subnet_id, ip in entries)


class SqlPortRepo(_TableRepo[Port]):
    """Ports and their address allocations in SQL."""

    children = (t.ip_allocations, "port_id")

    spec = ListSpec(
        t.ports,
        _columns(
            "network_id",
            "mac_address",
            "device_id",
            "device_owner",
            "binding_host_id",
            "binding_vnic_type",
            "admin_state_up",
            "status",
            "boot_profile_id",
        ),
        {
            "fixed_ips.ip_address": _fixed_ip_filter("ip_address"),
            "fixed_ips.subnet_id": _fixed_ip_filter("subnet_id"),
        },
    )

    def to_row(self, obj: Port) -> dict[str, Any]:
        return {
            **_standard_to_row(obj),
            "network_id": obj.network_id,
            "mac_address": obj.mac_address,
            "device_id": obj.device_id,
            "device_owner": obj.device_owner,
            "binding_host_id": obj.binding_host_id,
            "binding_vnic_type": obj.binding_vnic_type,
            "binding_profile": obj.binding_profile,
            "extra_dhcp_opts": opts_to_rows(obj.extra_dhcp_opts),
            "boot_profile_id": obj.boot_profile_id,
            "admin_state_up": obj.admin_state_up,
            "status": obj.status,
        }

    def selection(self) -> Select[Any]:
        # The port's addresses come in the same statement: one round trip per look-up.
        return select(t.ports, _FIXED_IPS)

    def from_rows(self, rows: Sequence[Mapping[Any, Any]]) -> list[Port]:
        return [
            Port(
                **_standard_from_row(row),
                network_id=row["network_id"],
                mac_address=row["mac_address"],
                fixed_ips=_fixed_ips_from_text(row["fixed_ips"]),
                device_id=row["device_id"],
                device_owner=row["device_owner"],
                binding_host_id=row["binding_host_id"],
                binding_vnic_type=row["binding_vnic_type"],
                binding_profile=row["binding_profile"],
                extra_dhcp_opts=opts_from_rows(row["extra_dhcp_opts"]),
                boot_profile_id=row["boot_profile_id"],
                admin_state_up=row["admin_state_up"],
                status=row["status"],
            )
            for row in rows
        ]

    def child_rows(self, items: Sequence[Port]) -> list[dict[str, Any]]:
        return [
            {
                "port_id": port.id,
                "subnet_id": f.subnet_id,
                "position": position,
                "ip_address": f.ip_address,
                "ip_int": int(ipaddress.IPv4Address(f.ip_address)),
            }
            for port in items
            for position, f in enumerate(port.fixed_ips)
        ]

    def conflict(self, exc: IntegrityError, items: Sequence[Port]) -> Conflict:
        first = items[0]
        detail = (
            first.mac_address
            if "mac" in str(exc.orig)
            else ", ".join(f.ip_address for p in items for f in p.fixed_ips)
        )
        return _integrity_conflict(exc, first.network_id, detail)

    def count_on_network(self, network_id: str) -> int:
        statement = select(func.count()).where(t.ports.c.network_id == network_id)
        return int(self.connection.execute(statement).scalar_one())

    def count_on_subnet(self, subnet_id: str) -> int:
        statement = select(func.count()).where(t.ip_allocations.c.subnet_id == subnet_id)
        return int(self.connection.execute(statement).scalar_one())

    def macs_in_use(self, network_id: str, macs: Sequence[str]) -> set[str]:
        found: set[str] = set()
        for batch in in_batches(macs):
            statement = select(t.ports.c.mac_address).where(
                t.ports.c.network_id == network_id,
                t.ports.c.mac_address.in_(list(batch)),
            )
            found.update(self.connection.execute(statement).scalars())
        return found

    def _ip_range(self, subnet_id: str, low: int, high: int) -> list[ColumnElement[bool]]:
        c = t.ip_allocations.c
        return [c.subnet_id == subnet_id, c.ip_int >= low, c.ip_int <= high]

    def ips_in_use(self, subnet_id: str, low: int, high: int) -> set[int]:
        statement = select(t.ip_allocations.c.ip_int).where(*self._ip_range(subnet_id, low, high))
        return {int(v) for v in self.connection.execute(statement).scalars()}

    def highest_ip_in_use(self, subnet_id: str, low: int, high: int) -> int | None:
        statement = select(func.max(t.ip_allocations.c.ip_int)).where(
            *self._ip_range(subnet_id, low, high)
        )
        value = self.connection.execute(statement).scalar()
        return None if value is None else int(value)


class SqlBootProfileRepo(_TableRepo[BootProfile]):
    """Boot profiles in SQL."""

    spec = _plain_spec(t.boot_profiles, "name", "project_id", "description")

    def to_row(self, obj: BootProfile) -> dict[str, Any]:
        return {
            "id": obj.id,
            "name": obj.name,
            "project_id": obj.project_id,
            "description": obj.description,
            "kernel": obj.kernel,
            "initrds": list(obj.initrds),
            "cmdline": obj.cmdline,
            "script": obj.script,
            "chain_url": obj.chain_url,
            **_times_to_row(obj),
        }

    def from_rows(self, rows: Sequence[Mapping[Any, Any]]) -> list[BootProfile]:
        return [
            BootProfile(
                id=row["id"],
                name=row["name"],
                project_id=row["project_id"],
                description=row["description"],
                kernel=row["kernel"],
                initrds=tuple(row["initrds"]),
                cmdline=row["cmdline"],
                script=row["script"],
                chain_url=row["chain_url"],
                **_times_from_row(row),
            )
            for row in rows
        ]

    def conflict(self, exc: IntegrityError, items: Sequence[BootProfile]) -> Conflict:
        return Conflict(reason=f"a boot profile named '{items[0].name}' exists")


class SqlHypervisorRepo(_TableRepo[Hypervisor]):
    """Hypervisors and their heartbeats in SQL."""

    spec = _plain_spec(t.hypervisors, "name")

    def to_row(self, obj: Hypervisor) -> dict[str, Any]:
        return {
            "id": obj.id,
            "name": obj.name,
            "description": obj.description,
            "boot_address": obj.boot_address,
            "http_boot_url": obj.http_boot_url,
            "physical_networks": list(obj.physical_networks),
            "dhcp_opts": opts_to_rows(obj.dhcp_opts),
            **_times_to_row(obj),
        }

    def from_rows(self, rows: Sequence[Mapping[Any, Any]]) -> list[Hypervisor]:
        return [
            Hypervisor(
                id=row["id"],
                name=row["name"],
                description=row["description"],
                boot_address=row["boot_address"],
                http_boot_url=row["http_boot_url"],
                physical_networks=tuple(row["physical_networks"]),
                dhcp_opts=opts_from_rows(row["dhcp_opts"]),
                **_times_from_row(row),
            )
            for row in rows
        ]

    def conflict(self, exc: IntegrityError, items: Sequence[Hypervisor]) -> Conflict:
        return Conflict(reason=f"a hypervisor named '{items[0].name}' exists")

    def beat(self, heartbeat: Heartbeat) -> None:
        table = t.hypervisor_heartbeats
        values = {"at": heartbeat.at, "view_revision": heartbeat.view_revision}
        changed = self.connection.execute(
            update(table).where(table.c.hypervisor_id == heartbeat.hypervisor_id).values(values)
        ).rowcount
        if not changed:
            self.connection.execute(
                insert(table).values(hypervisor_id=heartbeat.hypervisor_id, **values)
            )

    def heartbeats(self) -> dict[str, Heartbeat]:
        rows = self.connection.execute(select(t.hypervisor_heartbeats))
        return {
            row.hypervisor_id: Heartbeat(row.hypervisor_id, row.at, row.view_revision)
            for row in rows
        }


class SqlNodeRepo(_LockableRepo[Node]):
    """Nodes in SQL; their MACs in ``node_macs`` (unique: one node per MAC)."""

    children = (t.node_macs, "node_id")

    spec = _plain_spec(
        t.nodes, "name", "state", "owner", "effective_owner", "boot_profile_id", "instance_id"
    )

    def to_row(self, obj: Node) -> dict[str, Any]:
        return {
            "id": obj.id,
            "name": obj.name,
            "description": obj.description,
            "boot_profile_id": obj.boot_profile_id,
            "firmware": obj.firmware,
            "owner": obj.owner,
            "effective_owner": obj.effective_owner,
            "state": obj.state,
            "error_reason": obj.error_reason,
            "instance_id": obj.instance_id,
            **_times_to_row(obj),
        }

    def from_rows(self, rows: Sequence[Mapping[Any, Any]]) -> list[Node]:
        macs: dict[str, list[NodeMac]] = {row["id"]: [] for row in rows}
        ids = list(macs)
        for batch in in_batches(ids):
            statement = (
                select(t.node_macs)
                .where(t.node_macs.c.node_id.in_(batch))
                .order_by(t.node_macs.c.node_id, t.node_macs.c.position)
            )
            for mac in self.connection.execute(statement):
                macs[mac.node_id].append(NodeMac(mac.mac, mac.switch_id, mac.port_id))
        return [
            Node(
                id=row["id"],
                name=row["name"],
                description=row["description"],
                macs=tuple(macs[row["id"]]),
                boot_profile_id=row["boot_profile_id"],
                firmware=row["firmware"],
                owner=row["owner"],
                effective_owner=row["effective_owner"],
                state=row["state"],
                error_reason=row["error_reason"],
                instance_id=row["instance_id"],
                **_times_from_row(row),
            )
            for row in rows
        ]

    def child_rows(self, items: Sequence[Node]) -> list[dict[str, Any]]:
        return [
            {
                "node_id": node.id,
                "position": position,
                "mac": m.mac,
                "switch_id": m.switch_id,
                "port_id": m.port_id,
            }
            for node in items
            for position, m in enumerate(node.macs)
        ]

    def conflict(self, exc: IntegrityError, items: Sequence[Node]) -> Conflict:
        if "mac" in str(exc.orig):
            macs = ", ".join(m.mac for n in items for m in n.macs)
            return Conflict(reason=f"a MAC of {macs} belongs to another node")
        return Conflict(reason=f"a node named '{items[0].name}' exists")

    def by_macs(self, macs: Sequence[str]) -> list[Node]:
        owners = select(t.node_macs.c.node_id).where(t.node_macs.c.mac.in_(list(macs)))
        statement = self.selection().where(t.nodes.c.id.in_(owners)).order_by(t.nodes.c.id)
        return self.from_rows([r._mapping for r in self.connection.execute(statement)])


class SqlInstanceRepo(_TableRepo[Instance]):
    """Instances in SQL; their ports as JSON (they are the instance's own record)."""

    spec = _plain_spec(t.instances, "name", "project_id", "node_id", "status")

    def to_row(self, obj: Instance) -> dict[str, Any]:
        return {
            "id": obj.id,
            "name": obj.name,
            "project_id": obj.project_id,
            "node_id": obj.node_id,
            "boot_profile_id": obj.boot_profile_id,
            "status": obj.status,
            "fault": obj.fault,
            "ports": [instance_port_record(p) for p in obj.ports],
            **_times_to_row(obj),
        }

    def from_rows(self, rows: Sequence[Mapping[Any, Any]]) -> list[Instance]:
        return [
            Instance(
                id=row["id"],
                name=row["name"],
                project_id=row["project_id"],
                node_id=row["node_id"],
                boot_profile_id=row["boot_profile_id"],
                status=row["status"],
                fault=row["fault"],
                ports=tuple(InstancePort(*p) for p in row["ports"]),
                **_times_from_row(row),
            )
            for row in rows
        ]

    def conflict(self, exc: IntegrityError, items: Sequence[Instance]) -> Conflict:
        return Conflict(reason=f"node {items[0].node_id} already has an instance")
