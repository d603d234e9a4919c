"""The store as one object: engine, migrations, units of work, feed, tokens."""

from __future__ import annotations

from metalnet.store.db import make_engine, migrate
from metalnet.store.feed import ChangeFeed
from metalnet.store.tokens import TokenStore
from metalnet.store.uow import SqlUnitOfWork


class Store:
    """Opens the database at ``url`` and migrates it to the newest schema."""

    def __init__(self, url: str) -> None:
        self.engine = make_engine(url)
        migrate(self.engine)
        self.feed = ChangeFeed(self.engine)
        self.tokens = TokenStore(self.engine)

    def unit_of_work(self, readonly: bool = False) -> SqlUnitOfWork:
        """A new unit of work (use it as a context manager)."""
        return SqlUnitOfWork(self.engine, self.feed, readonly=readonly)

    def close(self) -> None:
        """Release every connection."""
        self.engine.dispose()
