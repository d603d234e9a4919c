"""Shared fixtures: stores on SQLite and PostgreSQL, and an API client.

``store``          a migrated SQLite store in ``tmp_path`` (fresh per test)
``pg_server``      one throw-away PostgreSQL server per session (skipped when unavailable)
``backend_url``    a fresh, migrated database per test: SQLite, then PostgreSQL
``store_backend``  a :class:`Store` over ``backend_url``
``api_client``     an ``httpx.AsyncClient`` over ``create_app(store, noauth=True)``
"""

from __future__ import annotations

import shutil
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest

from metalnet.api.app import create_app
from metalnet.store.store import Store
from tests.support import postgres


def sqlite_url(directory: Path) -> str:
    """The URL of a SQLite database file in ``directory``."""
    return f"sqlite:///{directory / 'metalnet.sqlite'}"


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A migrated SQLite file; copying it is ten times faster than migrating."""
    directory = tmp_path_factory.mktemp("template")
    Store(sqlite_url(directory)).close()
    return directory / "metalnet.sqlite"


@pytest.fixture
def sqlite_db(sqlite_template: Path, tmp_path: Path) -> str:
    """The URL of a fresh, migrated SQLite database in ``tmp_path``."""
    shutil.copyfile(sqlite_template, tmp_path / "metalnet.sqlite")
    return sqlite_url(tmp_path)


@pytest.fixture
def loaders(tmp_path: Path) -> Path:
    """A bootloader directory with Debian's two required iPXE loaders (dummy bytes)."""
    directory = tmp_path / "loaders"
    directory.mkdir()
    (directory / "undionly.kpxe").write_bytes(b"bios loader")
    (directory / "ipxe.efi").write_bytes(b"efi loader")
    return directory


@pytest.fixture
def store(sqlite_db: str) -> Iterator[Store]:
    s = Store(sqlite_db)
    yield s
    s.close()


@pytest.fixture(scope="session")
def pg_server() -> Iterator[postgres.TempPostgres]:
    if not postgres.available():
        pytest.skip("PostgreSQL is not available (needs Debian's postgresql and root)")
    server = postgres.TempPostgres().start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def pg_template(pg_server: postgres.TempPostgres) -> str:
    """Name of a migrated database that per-test databases are copied from."""
    url = pg_server.create_database()
    Store(url).close()
    return url.rsplit("/", 1)[1]


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def backend_url(request: pytest.FixtureRequest) -> str:
    if request.param == "sqlite":
        return str(request.getfixturevalue("sqlite_db"))
    server: postgres.TempPostgres = request.getfixturevalue("pg_server")
    return server.create_database(template=request.getfixturevalue("pg_template"))


@pytest.fixture
def store_backend(backend_url: str) -> Iterator[Store]:
    s = Store(backend_url)
    yield s
    s.close()


def asgi_client(app: object) -> httpx.AsyncClient:
    """A client of an ASGI app; server errors come back as 500 responses, not exceptions."""
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)  # type: ignore[arg-type]
    return httpx.AsyncClient(transport=transport, base_url="http://metalnet.test")


@pytest.fixture
async def api_client(store: Store) -> AsyncIterator[httpx.AsyncClient]:
    async with asgi_client(create_app(store, noauth=True)) as client:
        yield client


@pytest.fixture
async def backend_api_client(store_backend: Store) -> AsyncIterator[httpx.AsyncClient]:
    """Like ``api_client``, once over SQLite and once over PostgreSQL."""
    async with asgi_client(create_app(store_backend, noauth=True)) as client:
        yield client
