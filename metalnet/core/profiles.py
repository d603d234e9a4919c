"""Boot profile rules: admins manage them, everyone may read them, and one in use
by a port or a network cannot be deleted."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from metalnet.core.boot import (
    BootProfile,
    BootProfileInUse,
    BootProfileNotFound,
    profile_from_attrs,
    validated_profile,
)
from metalnet.core.context import RequestContext
from metalnet.core.records import to_record
from metalnet.core.repo import ListQuery, UnitOfWork
from metalnet.core.resources import admin_only, check_revision, new_id, revised, utc_now


def resolve_profile(uow: UnitOfWork, ref: str) -> BootProfile:
    """A profile by id, else by name.

    :raises BootProfileNotFound: neither matches.
    """
    profile = uow.boot_profiles.get(ref) or uow.boot_profiles.by_name(ref)
    if profile is None:
        raise BootProfileNotFound(id=ref)
    return profile


def profile_ref_to_id(uow: UnitOfWork, attrs: dict[str, Any], key: str) -> None:
    """Replace a profile name or id in ``attrs[key]`` by the profile's id (``None`` stays)."""
    if attrs.get(key) is not None:
        attrs[key] = resolve_profile(uow, attrs[key]).id


def create_profile(uow: UnitOfWork, ctx: RequestContext, attrs: Mapping[str, Any]) -> BootProfile:
    """Create a profile.

    :raises PolicyNotAuthorized: the caller is not an admin.
    :raises InvalidInput: not exactly one kind, or a bad name, path, URL or script.
    :raises Conflict: the name is taken.
    """
    admin_only(ctx, "create_boot_profile")
    now = utc_now()
    values = {**attrs, "initrds": tuple(attrs.get("initrds", ()))}
    profile = validated_profile(
        BootProfile(
            id=new_id(), project_id=ctx.project_id, created_at=now, updated_at=now, **values
        )
    )
    uow.boot_profiles.add_many([profile])
    uow.record_change("boot_profile", profile.id, to_record(profile))
    return profile


def update_profile(
    uow: UnitOfWork,
    ctx: RequestContext,
    ref: str,
    changes: Mapping[str, Any],
    expected_revision: int | None = None,
) -> BootProfile:
    """Change a profile; setting one kind's field clears the others'.

    :raises BootProfileNotFound: no such profile.
    """
    admin_only(ctx, "update_boot_profile")
    profile = resolve_profile(uow, ref)
    check_revision(profile, expected_revision)
    values = dict(changes)
    kind_fields = {"kernel", "script", "chain_url"}
    if kind_fields & values.keys():
        cleared = {"kernel": None, "initrds": (), "cmdline": "", "script": None, "chain_url": None}
        values = {**cleared, **values}
    updated = profile_from_attrs(values, revised(profile, {}))
    uow.boot_profiles.update(updated)
    uow.record_change("boot_profile", updated.id, to_record(updated))
    return updated


def delete_profile(uow: UnitOfWork, ctx: RequestContext, ref: str) -> None:
    """Delete a profile nothing uses.

    :raises BootProfileInUse: a port or network names it.
    """
    admin_only(ctx, "delete_boot_profile")
    profile = resolve_profile(uow, ref)
    users = len(uow.ports.list(ListQuery(filters={"boot_profile_id": [profile.id]}, limit=1)))
    users += len(
        uow.networks.list(ListQuery(filters={"discovery_profile_id": [profile.id]}, limit=1))
    )
    if users:
        raise BootProfileInUse(id=profile.id)
    uow.boot_profiles.delete(profile.id)
    uow.record_change("boot_profile", profile.id, None)
