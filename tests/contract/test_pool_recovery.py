"""Pooled PostgreSQL connections cut by the server are replaced, not handed to a request."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from metalnet.errors import Unavailable
from metalnet.store import db
from metalnet.store.store import Store
from tests.support import postgres

pytestmark = pytest.mark.postgres


def _terminate_other_backends(pg_server: postgres.TempPostgres, url: str) -> None:
    database = url.rsplit("/", 1)[1]
    pg_server.psql(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
        f"WHERE datname = '{database}' AND pid <> pg_backend_pid()"
    )


def test_a_rested_connection_cut_by_the_server_is_replaced(
    pg_server: postgres.TempPostgres, pg_template: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = pg_server.create_database(template=pg_template)
    monkeypatch.setattr(db, "PING_AFTER_IDLE", 0.0)  # every pooled connection has rested
    store = Store(url)
    try:
        with store.unit_of_work(readonly=True) as uow:
            uow.connection.execute(text("SELECT 1"))
        _terminate_other_backends(pg_server, url)
        with store.unit_of_work(readonly=True) as uow:
            assert uow.connection.execute(text("SELECT 2")).scalar() == 2
        with store.unit_of_work() as uow:  # writers too, and the transaction still works
            uow.connection.execute(text("SELECT 3"))
            uow.commit()
    finally:
        store.close()


def test_a_busy_connection_cut_by_the_server_fails_once_as_unavailable(
    pg_server: postgres.TempPostgres, pg_template: str
) -> None:
    url = pg_server.create_database(template=pg_template)
    store = Store(url)  # connections used within PING_AFTER_IDLE are not pinged
    try:
        with store.unit_of_work(readonly=True) as uow:
            uow.connection.execute(text("SELECT 1"))
        _terminate_other_backends(pg_server, url)
        with pytest.raises(Unavailable), store.unit_of_work(readonly=True) as uow:
            uow.connection.execute(text("SELECT 2"))
        with store.unit_of_work(readonly=True) as uow:
            assert uow.connection.execute(text("SELECT 3")).scalar() == 3
    finally:
        store.close()
