"""Sightings of unknown MACs in the database (saved in batches by the DHCP service)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Engine, select
from sqlalchemy.dialects import postgresql, sqlite

from metalnet.core.model import Sighting
from metalnet.store import tables as t


def _short(text: str | None) -> str | None:
    return None if text is None else text[:255]


def _row(s: Sighting) -> dict[str, Any]:
    return {
        "mac": s.mac,
        "network_id": s.network_id,
        "first_seen": datetime.fromtimestamp(s.first_seen, UTC),
        "last_seen": datetime.fromtimestamp(s.last_seen, UTC),
        "count": s.count,
        "vendor_class": _short(s.vendor_class),
        "client_arch": s.client_arch,
        "user_class": _short(s.user_class),
        "giaddr": s.giaddr,
        "relay_circuit_id": _short(s.relay_circuit_id),
        "relay_remote_id": _short(s.relay_remote_id),
        "policy": s.policy,
    }


def _upsert(dialect: str) -> Any:
    """``INSERT ... ON CONFLICT (mac) DO UPDATE`` in the engine's dialect."""
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    statement = insert(t.sightings)
    kept = {
        c.name: statement.excluded[c.name]
        for c in t.sightings.columns
        if c.name not in ("mac", "first_seen")
    }
    return statement.on_conflict_do_update(index_elements=["mac"], set_=kept)


class SightingStore:
    """Upserts and lists sightings."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._upsert = _upsert(engine.dialect.name)

    def save(self, sightings: Sequence[Sighting]) -> None:
        """Insert these sightings or update the stored ones (first_seen is kept)."""
        if sightings:
            with self.engine.begin() as connection:
                connection.execute(self._upsert, [_row(s) for s in sightings])

    def list(self, mac: str | None = None) -> list[dict[str, Any]]:
        """Stored sightings, most recent first (one MAC when given)."""
        statement = select(t.sightings).order_by(t.sightings.c.last_seen.desc())
        if mac is not None:
            statement = statement.where(t.sightings.c.mac == mac)
        with self.engine.connect() as connection:
            return [dict(row._mapping) for row in connection.execute(statement)]
