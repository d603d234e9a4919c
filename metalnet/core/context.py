"""Who is asking: the project and whether it is an admin."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class RequestContext:
    """The caller of an operation.

    :ivar project_id: the caller's project; new resources default to it.
    :ivar is_admin: admins see every project and may set admin-only attributes.
    """

    project_id: str
    is_admin: bool = False

    def can_see(self, project_id: str, shared: bool = False) -> bool:
        """Whether a resource of ``project_id`` is visible to this caller."""
        return self.is_admin or shared or project_id == self.project_id


ADMIN = RequestContext(project_id="admin", is_admin=True)
"""The context of ``--noauth`` callers and of in-process operations."""
