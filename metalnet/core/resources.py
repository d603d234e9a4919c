"""Helpers every resource service shares: ids, clocks, revisions, access."""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import Any, TypeVar

from metalnet.core.context import RequestContext
from metalnet.core.records import Resource
from metalnet.errors import PolicyNotAuthorized, RevisionNumberConstraintFailed

R = TypeVar("R", bound=Resource)


def new_id() -> str:
    """A fresh resource id (UUID4 text)."""
    return str(uuid.uuid4())


def utc_now() -> datetime:
    """Current time, UTC, whole seconds (Neutron's timestamp precision)."""
    return datetime.now(UTC).replace(microsecond=0)


def revised(obj: R, changes: Mapping[str, Any]) -> R:
    """A copy of ``obj`` with ``changes``, the next revision and a new ``updated_at``."""
    return dataclasses.replace(
        obj, **changes, revision_number=obj.revision_number + 1, updated_at=utc_now()
    )


def check_revision(obj: Resource, expected: int | None) -> None:
    """Honour ``If-Match: revision_number=N``.

    :raises RevisionNumberConstraintFailed: the stored revision differs.
    """
    if expected is not None and expected != obj.revision_number:
        raise RevisionNumberConstraintFailed(expected=expected, current=obj.revision_number)


def admin_only(ctx: RequestContext, action: str) -> None:
    """Refuse an operator-only action to non-admins.

    :raises PolicyNotAuthorized: the caller is not an admin.
    """
    if not ctx.is_admin:
        raise PolicyNotAuthorized(action=action)


def check_admin_only(
    ctx: RequestContext, resource: str, attrs: Iterable[str], admin_only: frozenset[str]
) -> None:
    """Refuse admin-only attributes to non-admins.

    :raises PolicyNotAuthorized: a non-admin set one of ``admin_only``.
    """
    if ctx.is_admin:
        return
    for name in attrs:
        if name in admin_only:
            raise PolicyNotAuthorized(action=f"create_or_update_{resource}:{name}")


def owner_of_new(ctx: RequestContext, attrs: Mapping[str, Any]) -> str:
    """The project a new resource belongs to.

    :raises PolicyNotAuthorized: a non-admin asked for another project.
    """
    requested = attrs.get("project_id")
    if requested and requested != ctx.project_id and not ctx.is_admin:
        raise PolicyNotAuthorized(action="create:project_id")
    return str(requested or ctx.project_id)
