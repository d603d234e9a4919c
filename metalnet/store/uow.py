"""The SQL unit of work: one connection, one transaction, every repository."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, Engine, insert, text
from sqlalchemy.exc import DBAPIError, OperationalError

from metalnet.core.repo import (
    BootProfileRepo,
    HypervisorRepo,
    InstanceRepo,
    NetworkRepo,
    NodeRepo,
    PortRepo,
    SubnetRepo,
)
from metalnet.errors import Unavailable
from metalnet.store import tables as t
from metalnet.store.db import BEGIN_MODE
from metalnet.store.feed import ChangeFeed
from metalnet.store.repos import (
    SqlBootProfileRepo,
    SqlHypervisorRepo,
    SqlInstanceRepo,
    SqlNetworkRepo,
    SqlNodeRepo,
    SqlPortRepo,
    SqlSubnetRepo,
)

FEED_LOCK_KEY = 0x6D6E6574  # "mnet": the PostgreSQL advisory lock ordering feed writes


class SqlUnitOfWork:
    """Implements :class:`metalnet.core.repo.UnitOfWork` on SQLAlchemy Core.

    :param readonly: only reads: on SQLite a deferred (shared) transaction instead of
        the write lock; on PostgreSQL autocommit reads (each statement sees what is
        committed, as the feed's snapshot and the list routes expect).
    """

    # Declared as the protocol's types: the repository attributes are invariant.
    networks: NetworkRepo
    subnets: SubnetRepo
    ports: PortRepo
    boot_profiles: BootProfileRepo
    hypervisors: HypervisorRepo
    nodes: NodeRepo
    instances: InstanceRepo

    def __init__(self, engine: Engine, feed: ChangeFeed, readonly: bool = False) -> None:
        self.engine = engine
        self.feed = feed
        self.readonly = readonly
        self.postgres = engine.dialect.name == "postgresql"
        self._pending: list[dict[str, Any]] = []

    def __enter__(self) -> SqlUnitOfWork:
        try:
            connection: Connection = self.engine.connect()
        except OperationalError as exc:
            raise Unavailable(reason="the database cannot be reached") from exc
        if self.readonly and self.postgres:
            # A read needs no transaction round trips (BEGIN, ROLLBACK) on PostgreSQL.
            connection = connection.execution_options(isolation_level="AUTOCOMMIT")
        elif self.readonly:
            connection = connection.execution_options(**{BEGIN_MODE: "DEFERRED"})
        self.connection = connection
        self.transaction = connection.begin()
        self.networks = SqlNetworkRepo(connection)
        self.subnets = SqlSubnetRepo(connection, lock_rows=self.postgres)
        self.ports = SqlPortRepo(connection)
        self.boot_profiles = SqlBootProfileRepo(connection)
        self.hypervisors = SqlHypervisorRepo(connection)
        self.nodes = SqlNodeRepo(connection, lock_rows=self.postgres)
        self.instances = SqlInstanceRepo(connection)
        return self

    def __exit__(self, _exc_type: object, exc: object, _traceback: object, /) -> None:
        try:
            if self.transaction.is_active:
                self.transaction.rollback()
        finally:
            self.connection.close()
        if isinstance(exc, DBAPIError) and exc.connection_invalidated:
            # The database went away under a busy connection; the pool has dropped it.
            raise Unavailable(reason="the database connection was lost; retry") from exc

    def record_change(self, kind: str, resource_id: str, body: Mapping[str, Any] | None) -> None:
        self._pending.append(
            {"kind": kind, "resource_id": resource_id, "body": body,
             "changed_at": datetime.now(UTC)}
        )

    def commit(self) -> None:
        head = None
        if self._pending:
            if self.postgres:
                self.connection.execute(
                    text("SELECT pg_advisory_xact_lock(:k)"), {"k": FEED_LOCK_KEY}
                )
            result = self.connection.execute(
                insert(t.changes).returning(t.changes.c.revision), self._pending
            )
            head = max(result.scalars())
            self._pending = []
        self.transaction.commit()
        if head is not None:
            self.feed.published(head)
