"""Tags of any resource (Neutron's standard-attr-tag)."""

from __future__ import annotations

from collections.abc import Sequence

from metalnet.core.records import KIND_OF, Tagged, to_record
from metalnet.core.repo import Repo, UnitOfWork
from metalnet.core.resources import revised
from metalnet.errors import InvalidInput

MAX_TAG_LENGTH = 255
MAX_TAGS = 50


def check_tag(tag: str) -> str:
    """A tag is 1-255 characters without a comma or NUL.

    :raises InvalidInput: otherwise.
    """
    if not tag or len(tag) > MAX_TAG_LENGTH or "," in tag or "\x00" in tag:
        raise InvalidInput(
            reason=f"{tag!r} is not a valid tag (1-255 characters, no comma or NUL)"
        )
    return tag


def replace_tags(
    uow: UnitOfWork, repo: Repo[Tagged], obj: Tagged, tags: Sequence[str]
) -> Tagged:
    """Give ``obj`` exactly ``tags`` (order kept, duplicates dropped); bumps the revision.

    :raises InvalidInput: a bad tag, or more than 50.
    """
    unique = tuple(dict.fromkeys(check_tag(t) for t in tags))
    if len(unique) > MAX_TAGS:
        raise InvalidInput(reason=f"at most {MAX_TAGS} tags per resource")
    if unique == obj.tags:
        return obj
    updated = revised(obj, {"tags": unique})
    repo.update(updated)
    uow.record_change(KIND_OF[type(obj)], updated.id, to_record(updated))
    return updated
