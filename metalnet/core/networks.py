"""Network rules: provider attributes, the unknown-MAC policy, deletion."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

from metalnet.core.context import RequestContext
from metalnet.core.dhcp_opts import check_extra_dhcp_opts
from metalnet.core.model import Network
from metalnet.core.policy import PolicyError, UnknownPolicy
from metalnet.core.profiles import profile_ref_to_id
from metalnet.core.records import to_record
from metalnet.core.repo import UnitOfWork
from metalnet.core.resources import (
    check_admin_only,
    check_revision,
    new_id,
    owner_of_new,
    revised,
    utc_now,
)
from metalnet.errors import InvalidInput, NetworkInUse, NetworkNotFound

NETWORK_TYPES = frozenset({"flat", "vlan"})
ADMIN_ONLY = frozenset(
    {
        "network_type",
        "physical_network",
        "segmentation_id",
        "unknown_mac_policy",
        "boot_dhcp_opts",
        "discovery_profile_id",
    }
)
MIN_MTU, MAX_MTU = 68, 65535


def get_network(uow: UnitOfWork, ctx: RequestContext, network_id: str) -> Network:
    """The network if the caller may see it.

    :raises NetworkNotFound: absent or not visible.
    """
    network = uow.networks.get(network_id)
    if network is None or not ctx.can_see(network.project_id, network.shared):
        raise NetworkNotFound(id=network_id)
    return network


def _validated(network: Network) -> Network:
    if network.network_type not in NETWORK_TYPES:
        raise InvalidInput(
            reason=f"network_type '{network.network_type}' is not supported (flat, vlan)"
        )
    if network.network_type == "flat" and network.segmentation_id is not None:
        raise InvalidInput(reason="segmentation_id is not allowed on a flat network")
    if network.network_type == "vlan" and not (
        network.segmentation_id is not None and 1 <= network.segmentation_id <= 4094
    ):
        raise InvalidInput(reason="a vlan network needs segmentation_id between 1 and 4094")
    if not MIN_MTU <= network.mtu <= MAX_MTU:
        raise InvalidInput(reason=f"mtu {network.mtu} is out of range {MIN_MTU}-{MAX_MTU}")
    try:
        policy = UnknownPolicy.parse(network.unknown_mac_policy)
    except PolicyError as exc:
        raise InvalidInput(reason=f"unknown_mac_policy: {exc}") from exc
    return dataclasses.replace(network, unknown_mac_policy=str(policy))


def _boot_fields(uow: UnitOfWork, attrs: dict[str, Any]) -> dict[str, Any]:
    """Check the boot options and resolve the discovery profile (name or id)."""
    if "boot_dhcp_opts" in attrs:
        attrs["boot_dhcp_opts"] = check_extra_dhcp_opts(attrs["boot_dhcp_opts"] or ())
    profile_ref_to_id(uow, attrs, "discovery_profile_id")
    return attrs


def create_networks(
    uow: UnitOfWork, ctx: RequestContext, items: list[Mapping[str, Any]]
) -> list[Network]:
    """Create networks (all or none).

    :raises PolicyNotAuthorized: a non-admin set a provider attribute or the policy.
    :raises InvalidInput: a provider attribute, mtu or policy is invalid.
    """
    now = utc_now()
    created = []
    for attrs in items:
        check_admin_only(ctx, "network", attrs, ADMIN_ONLY)
        fields = _boot_fields(uow, {k: v for k, v in attrs.items() if k != "project_id"})
        network = _validated(
            Network(
                id=new_id(),
                project_id=owner_of_new(ctx, attrs),
                created_at=now,
                updated_at=now,
                **fields,
            )
        )
        created.append(network)
    uow.networks.add_many(created)
    for network in created:
        uow.record_change("network", network.id, to_record(network))
    return created


def update_network(
    uow: UnitOfWork,
    ctx: RequestContext,
    network_id: str,
    changes: Mapping[str, Any],
    expected_revision: int | None = None,
) -> Network:
    """Change a network's attributes.

    :raises NetworkNotFound: absent or not visible.
    :raises RevisionNumberConstraintFailed: ``expected_revision`` is stale.
    """
    network = get_network(uow, ctx, network_id)
    check_revision(network, expected_revision)
    check_admin_only(ctx, "network", changes, ADMIN_ONLY)
    updated = _validated(revised(network, _boot_fields(uow, dict(changes))))
    uow.networks.update(updated)
    uow.record_change("network", updated.id, to_record(updated))
    return updated


def delete_network(uow: UnitOfWork, ctx: RequestContext, network_id: str) -> None:
    """Delete a network and its subnets.

    :raises NetworkInUse: ports are still on it.
    """
    network = get_network(uow, ctx, network_id)
    if uow.ports.count_on_network(network.id):
        raise NetworkInUse(net_id=network.id)
    for subnet in uow.subnets.for_network(network.id):
        uow.subnets.delete(subnet.id)
        uow.record_change("subnet", subnet.id, None)
    uow.networks.delete(network.id)
    uow.record_change("network", network.id, None)
