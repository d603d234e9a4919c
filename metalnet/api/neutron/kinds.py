"""The three Neutron resources as data: schemas, filters, services and renderers.

The routes in :mod:`metalnet.api.neutron.routes` are written once and read
everything resource-specific from a :class:`ResourceKind`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel

from metalnet.api.neutron import render, schemas
from metalnet.core import networks, ports, subnets
from metalnet.core.context import RequestContext
from metalnet.core.model import AllocationPool, HostRoute
from metalnet.core.repo import Repo, UnitOfWork
from metalnet.errors import InvalidInput, NetworkNotFound, NotFound, PortNotFound, SubnetNotFound


def _bool(text: str) -> bool:
    lowered = text.lower()
    if lowered in ("true", "1"):
        return True
    if lowered in ("false", "0"):
        return False
    raise ValueError(f"'{text}' is not a boolean")


INT32_LIMIT = 2**31


def integer(text: str) -> int:
    """A filter's integer, within the range of the integer columns it is compared with.

    :raises ValueError: not an integer, or out of the signed 32-bit range.
    """
    number = int(text)
    if not -INT32_LIMIT <= number < INT32_LIMIT:
        raise ValueError(f"'{text}' is out of range")
    return number


def _mac(text: str) -> str:
    return text.lower().replace("-", ":")


Converter = Callable[[str], Any]

_COMMON_FILTERS: dict[str, tuple[str, Converter]] = {
    "id": ("id", str),
    "name": ("name", str),
    "description": ("description", str),
    "project_id": ("project_id", str),
    "tenant_id": ("project_id", str),
    "revision_number": ("revision_number", integer),
}


@dataclass(frozen=True)
class ResourceKind:
    """Everything the generic routes need to know about one resource."""

    singular: str
    plural: str
    create_schema: type[schemas._Body]
    update_schema: type[schemas._Body]
    nullable: frozenset[str]
    filters: Mapping[str, tuple[str, Converter]]
    not_found: type[NotFound]
    repo: Callable[[UnitOfWork], Repo[Any]]
    get: Callable[[UnitOfWork, RequestContext, str], Any]
    create: Callable[[UnitOfWork, RequestContext, list[Mapping[str, Any]]], list[Any]]
    update: Callable[[UnitOfWork, RequestContext, str, Mapping[str, Any], int | None], Any]
    delete: Callable[[UnitOfWork, RequestContext, str], None]
    render: Callable[[UnitOfWork, Sequence[Any]], list[dict[str, Any]]]
    to_domain: Callable[[dict[str, Any]], dict[str, Any]] = lambda attrs: attrs

    @property
    def sort_keys(self) -> frozenset[str]:
        """Fields a list may be sorted by."""
        plain = {k for k, (field, _) in self.filters.items() if "." not in field}
        return frozenset(plain | {"created_at", "updated_at"})

    def attributes(self, body: Any, schema: type[BaseModel]) -> dict[str, Any]:
        """Validate one resource body and return domain attributes.

        :raises InvalidInput: the body does not match the schema.
        """
        if not isinstance(body, dict):
            raise InvalidInput(reason=f"a {self.singular} must be a JSON object")
        model = schema.model_validate(body)
        assert isinstance(model, schemas._Body)
        return self.to_domain(schemas.without_nulls(model.attributes(), self.nullable))


_NULL_IS_EMPTY = ("dns_nameservers", "host_routes")


def _subnet_domain(attrs: dict[str, Any]) -> dict[str, Any]:
    for name in _NULL_IS_EMPTY:  # Neutron's convert_none_to_empty_list
        if name in attrs and attrs[name] is None:
            attrs[name] = []
    if attrs.get("allocation_pools") is not None:
        attrs["allocation_pools"] = [AllocationPool(**p) for p in attrs["allocation_pools"]]
    if attrs.get("host_routes") is not None:
        attrs["host_routes"] = [HostRoute(**r) for r in attrs["host_routes"]]
    return attrs


NETWORK = ResourceKind(
    singular="network",
    plural="networks",
    create_schema=schemas.NetworkCreate,
    update_schema=schemas.NetworkUpdate,
    nullable=frozenset({"physical_network", "segmentation_id", "discovery_profile_id"}),
    filters={
        **_COMMON_FILTERS,
        "admin_state_up": ("admin_state_up", _bool),
        "shared": ("shared", _bool),
        "status": ("status", str),
        "mtu": ("mtu", integer),
        "provider:network_type": ("network_type", str),
        "provider:physical_network": ("physical_network", str),
        "provider:segmentation_id": ("segmentation_id", integer),
        "unknown_mac_policy": ("unknown_mac_policy", str),
        "discovery_profile": ("discovery_profile_id", str),
    },
    not_found=NetworkNotFound,
    repo=lambda uow: uow.networks,
    get=networks.get_network,
    create=networks.create_networks,
    update=networks.update_network,
    delete=networks.delete_network,
    render=render.render_networks,
)

SUBNET = ResourceKind(
    singular="subnet",
    plural="subnets",
    create_schema=schemas.SubnetCreate,
    update_schema=schemas.SubnetUpdate,
    nullable=frozenset({"gateway_ip", *_NULL_IS_EMPTY}),
    filters={
        **_COMMON_FILTERS,
        "network_id": ("network_id", str),
        "cidr": ("cidr", str),
        "ip_version": ("ip_version", integer),
        "gateway_ip": ("gateway_ip", str),
        "enable_dhcp": ("enable_dhcp", _bool),
    },
    not_found=SubnetNotFound,
    repo=lambda uow: uow.subnets,
    get=subnets.get_subnet,
    create=subnets.create_subnets,
    update=subnets.update_subnet,
    delete=subnets.delete_subnet,
    render=render.render_subnets,
    to_domain=_subnet_domain,
)

PORT = ResourceKind(
    singular="port",
    plural="ports",
    create_schema=schemas.PortCreate,
    update_schema=schemas.PortUpdate,
    nullable=frozenset({"boot_profile_id"}),
    filters={
        **_COMMON_FILTERS,
        "network_id": ("network_id", str),
        "mac_address": ("mac_address", _mac),
        "device_id": ("device_id", str),
        "device_owner": ("device_owner", str),
        "binding:host_id": ("binding_host_id", str),
        "binding:vnic_type": ("binding_vnic_type", str),
        "boot_profile": ("boot_profile_id", str),
        "admin_state_up": ("admin_state_up", _bool),
        "status": ("status", str),
        "fixed_ips.ip_address": ("fixed_ips.ip_address", str),
        "fixed_ips.subnet_id": ("fixed_ips.subnet_id", str),
    },
    not_found=PortNotFound,
    repo=lambda uow: uow.ports,
    get=ports.get_port,
    create=ports.create_ports,
    update=ports.update_port,
    delete=ports.delete_port,
    render=render.render_ports,
)

KINDS = (NETWORK, SUBNET, PORT)
