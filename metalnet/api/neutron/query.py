"""List query strings of the Neutron dialect -> :class:`ListQuery`, fields and page links."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from metalnet.api.neutron.kinds import ResourceKind, integer
from metalnet.core.repo import ListQuery
from metalnet.errors import BadRequest

PAGING = frozenset({"fields", "sort_key", "sort_dir", "limit", "marker", "page_reverse"})
TAG_FILTERS = frozenset({"tags", "tags-any", "not-tags", "not-tags-any"})


@dataclass(frozen=True)
class ListRequest:
    """A parsed list request: the store query and the fields to return."""

    query: ListQuery
    fields: tuple[str, ...]


def _bad(kind: ResourceKind, reason: str) -> BadRequest:
    return BadRequest(resource=kind.singular, reason=reason)


def _filter(kind: ResourceKind, key: str, value: str) -> tuple[str, Any]:
    if key in TAG_FILTERS:
        return key, value
    if key == "fixed_ips":
        sub, sep, value = value.partition("=")
        key = f"fixed_ips.{sub}"
        if not sep or key not in kind.filters:
            raise _bad(kind, f"fixed_ips filter '{sub}' is not supported (ip_address, subnet_id)")
    if key not in kind.filters:
        raise _bad(kind, f"'{key}' is not a valid filter of {kind.plural}")
    field, convert = kind.filters[key]
    try:
        return field, convert(value)
    except ValueError as exc:
        raise _bad(kind, f"invalid value for filter '{key}': {exc}") from exc


def _sorts(kind: ResourceKind, keys: list[str], dirs: list[str]) -> tuple[tuple[str, bool], ...]:
    if dirs and len(dirs) != len(keys):
        raise _bad(kind, "sort_key and sort_dir must be given the same number of times")
    sorts = []
    for index, key in enumerate(keys):
        direction = dirs[index] if dirs else "asc"
        if key not in kind.sort_keys:
            raise _bad(kind, f"'{key}' is not a valid sort_key of {kind.plural}")
        if direction not in ("asc", "desc"):
            raise _bad(kind, f"sort_dir must be asc or desc, not '{direction}'")
        field = kind.filters[key][0] if key in kind.filters else key
        sorts.append((field, direction == "asc"))
    return tuple(sorts)


def _limit(kind: ResourceKind, values: list[str]) -> int | None:
    if not values:
        return None
    try:
        limit = integer(values[-1])
    except ValueError as exc:
        raise _bad(kind, f"limit must be an integer, not '{values[-1]}'") from exc
    if limit < 0:
        raise _bad(kind, f"limit must be 0 or greater, not {limit}")
    return limit or None


def parse_list(
    kind: ResourceKind, params: Sequence[tuple[str, str]], visible_to_project: str | None
) -> ListRequest:
    """Read filters (repeated key = any of), fields, sorting and paging.

    :raises BadRequest: an unknown filter or sort key, or a bad value.
    """
    filters: dict[str, list[Any]] = {}
    for key, value in params:
        if key not in PAGING:
            field, converted = _filter(kind, key, value)
            filters.setdefault(field, []).append(converted)
    grouped: dict[str, list[str]] = {name: [] for name in PAGING}
    for key, value in params:
        if key in PAGING:
            grouped[key].append(value)
    query = ListQuery(
        filters=filters,
        sorts=_sorts(kind, grouped["sort_key"], grouped["sort_dir"]),
        limit=_limit(kind, grouped["limit"]),
        marker=grouped["marker"][-1] if grouped["marker"] else None,
        page_reverse=any(v.lower() == "true" for v in grouped["page_reverse"][-1:]),
        visible_to_project=visible_to_project,
    )
    fields = tuple(f for value in grouped["fields"] for f in value.split(",") if f)
    return ListRequest(query, fields)


def page_links(
    path: str, params: Sequence[tuple[str, str]], query: ListQuery, ids: Sequence[str]
) -> list[dict[str, str]]:
    """Relative ``next``/``previous`` links for a limited list, as Neutron gives them."""
    if query.limit is None or not ids:
        return []
    kept = [(k, v) for k, v in params if k not in ("marker", "page_reverse")]

    def link(rel: str, marker: str, reverse: bool) -> dict[str, str]:
        extra = [("marker", marker)] + ([("page_reverse", "True")] if reverse else [])
        return {"rel": rel, "href": f"{path}?{urlencode(kept + extra)}"}

    links = []
    more_forward = len(ids) == query.limit or query.page_reverse
    if more_forward:
        links.append(link("next", ids[-1], False))
    if query.marker is not None and (len(ids) == query.limit or not query.page_reverse):
        links.append(link("previous", ids[0], True))
    return links


def project_fields(item: dict[str, Any], fields: Sequence[str]) -> dict[str, Any]:
    """Only the requested fields (all when none were asked for)."""
    return {k: v for k, v in item.items() if k in fields} if fields else item
