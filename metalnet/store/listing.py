"""Turn a :class:`~metalnet.core.repo.ListQuery` into SQL: filters, order, keyset pages."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from sqlalchemy import (
    ColumnElement,
    Select,
    Table,
    and_,
    false,
    not_,
    or_,
    select,
    true,
)

from metalnet.errors import MarkerNotFound

FilterBuilder = Callable[[Sequence[Any]], ColumnElement[bool]]

_T = TypeVar("_T")

VALUES_PER_STATEMENT = 500
"""Values bound in one ``IN (...)``: well within SQLite's limit on parameters."""


def in_batches(values: Sequence[_T]) -> Iterator[Sequence[_T]]:
    """``values`` in slices of at most :data:`VALUES_PER_STATEMENT`, one statement each."""
    for start in range(0, len(values), VALUES_PER_STATEMENT):
        yield values[start : start + VALUES_PER_STATEMENT]


@dataclass(frozen=True)
class ListSpec:
    """How one resource table answers list queries.

    :ivar columns: filterable and sortable field -> column name.
    :ivar special: filters that are not a plain column (``fixed_ips.ip_address``).
    """

    table: Table
    columns: Mapping[str, str]
    special: Mapping[str, FilterBuilder]


def _tag_like(table: Table, tag: str) -> ColumnElement[bool]:
    escaped = tag.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return table.c.tags.like(f"%,{escaped},%", escape="\\")


def _tag_filter(table: Table, name: str, values: Sequence[Any]) -> ColumnElement[bool]:
    tags = [t for value in values for t in str(value).split(",") if t]
    matches = [_tag_like(table, t) for t in tags]
    if not matches:
        return true()
    everything, anything = and_(*matches), or_(*matches)
    return {
        "tags": everything,
        "tags-any": anything,
        "not-tags": not_(everything),
        "not-tags-any": not_(anything),
    }[name]


TAG_FILTERS = ("tags", "tags-any", "not-tags", "not-tags-any")


def where_clause(spec: ListSpec, filters: Mapping[str, Sequence[Any]]) -> ColumnElement[bool]:
    """AND of every filter; within one filter the values are "any of"."""
    clauses: list[ColumnElement[bool]] = []
    for name, values in filters.items():
        if name in TAG_FILTERS:
            clauses.append(_tag_filter(spec.table, name, values))
        elif name in spec.special:
            clauses.append(spec.special[name](values))
        else:
            column = spec.table.c[spec.columns[name]]
            present = [v for v in values if v is not None]
            # One value (a look-up by MAC, say) as "=": an IN list is rendered into
            # the SQL text anew for every statement, "=" is compiled once and cached.
            if len(present) == 1:
                options = [column == present[0]]
            else:
                options = [column.in_(present)] if present else []
            if len(present) != len(values):
                options.append(column.is_(None))
            clauses.append(or_(*options) if options else false())
    return and_(true(), *clauses)


def _after(
    spec: ListSpec, keys: Sequence[tuple[str, bool]], marker: Mapping[str, Any]
) -> ColumnElement[bool]:
    """Rows strictly after ``marker`` in the order ``keys`` (keyset pagination)."""
    ors = []
    for i, (name, ascending) in enumerate(keys):
        column = spec.table.c[spec.columns[name]]
        equal = [spec.table.c[spec.columns[n]] == marker[n] for n, _ in keys[:i]]
        beyond = column > marker[name] if ascending else column < marker[name]
        ors.append(and_(*equal, beyond))
    return or_(*ors)


def ordered_page(
    spec: ListSpec,
    statement: Select[Any],
    sorts: Sequence[tuple[str, bool]],
    limit: int | None,
    marker_row: Mapping[str, Any] | None,
    reverse: bool,
) -> Select[Any]:
    """Apply order (``id`` last), the keyset condition and the limit.

    With ``reverse`` the order is flipped; the caller flips the rows back.
    """
    keys = [(name, asc != reverse) for name, asc in sorts if name != "id"]
    keys.append(("id", next((asc for n, asc in sorts if n == "id"), True) != reverse))
    if marker_row is not None:
        values = {name: marker_row[spec.columns[name]] for name, _ in keys}
        statement = statement.where(_after(spec, keys, values))
    for name, ascending in keys:
        column = spec.table.c[spec.columns[name]]
        statement = statement.order_by(column.asc() if ascending else column.desc())
    if limit is not None:
        statement = statement.limit(limit)
    return statement


def marker_row(spec: ListSpec, connection: Any, marker: str | None) -> Mapping[str, Any] | None:
    """The stored row of the marker id; ``None`` without a marker.

    :raises MarkerNotFound: no row has that id (a page cannot start after it).
    """
    if marker is None:
        return None
    row = connection.execute(select(spec.table).where(spec.table.c.id == marker)).first()
    if row is None:
        raise MarkerNotFound(id=marker)
    mapping: Mapping[str, Any] = row._mapping
    return mapping
