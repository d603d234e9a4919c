"""Sightings of unknown MACs in the database (saved in batches by the DHCP service)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Engine, delete, select

from metalnet.core.model import Sighting
from metalnet.store import tables as t


def _row(sighting: Sighting) -> dict[str, Any]:
    row = asdict(sighting)
    row["first_seen"] = datetime.fromtimestamp(sighting.first_seen, UTC)
    row["last_seen"] = datetime.fromtimestamp(sighting.last_seen, UTC)
    for key in ("vendor_class", "user_class", "relay_circuit_id", "relay_remote_id"):
        if row[key] is not None:
            row[key] = row[key][:255]
    return row


class SightingStore:
    """Upserts and lists sightings."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def save(self, sightings: Sequence[Sighting]) -> None:
        """Replace the stored state of these MACs with the given sightings."""
        if not sightings:
            return
        rows = [_row(s) for s in sightings]
        with self.engine.begin() as connection:
            connection.execute(
                delete(t.sightings).where(t.sightings.c.mac.in_([r["mac"] for r in rows]))
            )
            connection.execute(t.sightings.insert(), rows)

    def list(self, mac: str | None = None) -> list[dict[str, Any]]:
        """Stored sightings, most recent first (one MAC when given)."""
        statement = select(t.sightings).order_by(t.sightings.c.last_seen.desc())
        if mac is not None:
            statement = statement.where(t.sightings.c.mac == mac)
        with self.engine.connect() as connection:
            return [dict(row._mapping) for row in connection.execute(statement)]
