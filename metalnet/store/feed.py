"""The change feed: every committed change with a monotonically increasing revision.

Writers append inside their transaction (see :mod:`metalnet.store.uow`); on
PostgreSQL they take a transaction-scoped advisory lock first, so revisions
become visible in commit order and a reader that has seen revision N never
later finds a smaller one appear.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence

from sqlalchemy import Engine, func, select

from metalnet.core.records import Change
from metalnet.store import tables as t
from metalnet.store.listing import in_batches

Listener = Callable[[int], None]


class ChangeFeed:
    """Reads the feed and tells in-process listeners when it grows."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._listeners: list[Listener] = []
        self._lock = threading.Lock()

    def subscribe(self, listener: Listener) -> None:
        """Call ``listener(head_revision)`` after every commit that changed something."""
        with self._lock:
            self._listeners.append(listener)

    def unsubscribe(self, listener: Listener) -> None:
        """Stop calling ``listener``."""
        with self._lock:
            self._listeners.remove(listener)

    def published(self, revision: int) -> None:
        """Announce a committed revision to listeners (called by units of work)."""
        with self._lock:
            listeners = list(self._listeners)
        for listener in listeners:
            listener(revision)

    def head(self) -> int:
        """The newest committed revision (0 for an empty feed)."""
        with self.engine.connect() as connection:
            return int(connection.execute(select(func.max(t.changes.c.revision))).scalar() or 0)

    def latest_by_resource(self, resource_ids: Sequence[str]) -> dict[str, int]:
        """The revision of the newest change of each of ``resource_ids`` that has one."""
        changes = t.changes
        latest: dict[str, int] = {}
        with self.engine.connect() as connection:
            for batch in in_batches(sorted(set(resource_ids))):
                statement = (
                    select(changes.c.resource_id, func.max(changes.c.revision))
                    .where(changes.c.resource_id.in_(batch))
                    .group_by(changes.c.resource_id)
                )
                latest.update((rid, int(rev)) for rid, rev in connection.execute(statement))
        return latest

    def changes_since(self, revision: int, limit: int = 10_000) -> list[Change]:
        """Committed changes after ``revision``, oldest first, at most ``limit``."""
        statement = (
            select(t.changes)
            .where(t.changes.c.revision > revision)
            .order_by(t.changes.c.revision)
            .limit(limit)
        )
        with self.engine.connect() as connection:
            return [
                Change(row.revision, row.kind, row.resource_id, row.body)
                for row in connection.execute(statement)
            ]
