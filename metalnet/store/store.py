"""The store as one object: engine, migrations, units of work, feed, tokens."""

from __future__ import annotations

from metalnet.core.records import Resource
from metalnet.core.repo import ListQuery
from metalnet.store.db import make_engine, migrate
from metalnet.store.feed import ChangeFeed
from metalnet.store.sightings import SightingStore
from metalnet.store.tokens import TokenStore
from metalnet.store.uow import SqlUnitOfWork


class Store:
    """Opens the database at ``url`` and migrates it to the newest schema."""

    def __init__(self, url: str) -> None:
        self.engine = make_engine(url)
        migrate(self.engine)
        self.feed = ChangeFeed(self.engine)
        self.tokens = TokenStore(self.engine)
        self.sightings = SightingStore(self.engine)

    def unit_of_work(self, readonly: bool = False) -> SqlUnitOfWork:
        """A new unit of work (use it as a context manager)."""
        return SqlUnitOfWork(self.engine, self.feed, readonly=readonly)

    def close(self) -> None:
        """Release every connection."""
        self.engine.dispose()

    def snapshot(self) -> tuple[int, list[Resource]]:
        """Every resource the views hold, and a feed revision they are at least as new as.

        The revision is read first: changes after it may already be in the
        rows, and replaying them from the feed is harmless (last write wins).
        """
        revision = self.feed.head()
        everything = ListQuery()
        with self.unit_of_work(readonly=True) as uow:
            resources: list[Resource] = [
                *uow.boot_profiles.list(everything),
                *uow.networks.list(everything),
                *uow.subnets.list(everything),
                *uow.ports.list(everything),
                *uow.hypervisors.list(everything),
                *uow.nodes.list(everything),
            ]
        return revision, resources
