"""Engines for SQLite (WAL, the default) and PostgreSQL, and schema migration."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, create_engine, event
from sqlalchemy.exc import DisconnectionError

MIGRATIONS = Path(__file__).parent / "migrations"
BEGIN_MODE = "metalnet_begin"
"""Execution option: ``IMMEDIATE`` (default, writers) or ``DEFERRED`` (readers) on SQLite."""
PING_AFTER_IDLE = 1.0
"""Seconds a pooled PostgreSQL connection may rest before it is pinged on checkout."""


def normalize_url(url: str) -> str:
    """Use the psycopg 3 driver for plain ``postgresql://`` URLs."""
    for prefix in ("postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    # Transactions are begun by hand (below) so writers can take the lock up front.
    dbapi_conn.isolation_level = None
    cursor = dbapi_conn.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    # FULL: a commit is on disk (WAL fsynced) before it returns, power loss included.
    cursor.execute("PRAGMA synchronous=FULL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=30000")
    # Reads through a shared memory map, not pread into each connection's small page
    # cache: a look-up then costs the same at 100,000 ports as at 1,000 (docs/0006).
    cursor.execute("PRAGMA mmap_size=268435456")
    cursor.close()


def _sqlite_begin(conn: Any) -> None:
    # BEGIN IMMEDIATE serialises writers at the start of the unit of work, so IPAM
    # and uniqueness checks read a state no other writer can change before commit.
    mode = conn.get_execution_options().get(BEGIN_MODE, "IMMEDIATE")
    conn.exec_driver_sql(f"BEGIN {mode}")


def _remember_checkin(_dbapi_conn: Any, record: Any) -> None:
    record.info["returned_at"] = time.monotonic()


def _ping_if_rested(dbapi_conn: Any, record: Any, _proxy: Any) -> None:
    # A connection used within the last second is alive: pinging it on every
    # checkout cost a round trip per API request. One that rested longer may have
    # been cut (database restart, idle timeout), so it is pinged; a dead one is
    # replaced by the pool. See docs/0006-read-path.md.
    returned_at = record.info.get("returned_at")
    if returned_at is None or time.monotonic() - returned_at < PING_AFTER_IDLE:
        return
    try:
        cursor = dbapi_conn.cursor()
        cursor.execute("SELECT 1")
        cursor.close()
        dbapi_conn.rollback()  # leave no transaction open behind the pool's back
    except Exception as exc:  # any failure means the connection is unusable
        raise DisconnectionError(f"pooled connection failed its ping: {exc}") from exc


def make_engine(url: str) -> Engine:
    """An engine for ``url`` with metalnet's connection settings."""
    url = normalize_url(url)
    if url.startswith("sqlite"):
        engine = create_engine(
            url, connect_args={"check_same_thread": False, "timeout": 30}, pool_size=8
        )
        event.listen(engine, "connect", _sqlite_pragmas)
        event.listen(engine, "begin", _sqlite_begin)
        return engine
    engine = create_engine(url, pool_size=10, max_overflow=20)
    event.listen(engine, "checkin", _remember_checkin)
    event.listen(engine, "checkout", _ping_if_rested)
    return engine


def migrate(engine: Engine) -> None:
    """Bring the schema to the newest migration (idempotent)."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "head")
