"""API tokens: random secrets stored only as SHA-256 hashes."""

from __future__ import annotations

import hashlib
import secrets
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import Engine, delete, insert, select

from metalnet.core.context import RequestContext
from metalnet.store import tables as t


def _digest(secret: str) -> str:
    # The secrets are 256 random bits: a plain hash is enough, no key stretching needed.
    return hashlib.sha256(secret.encode()).hexdigest()


@dataclass(frozen=True, slots=True)
class TokenInfo:
    """What is stored of a token (never the secret)."""

    id: str
    project_id: str
    is_admin: bool
    description: str
    created_at: datetime


class TokenStore:
    """Creates, checks, lists and revokes tokens."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def create(
        self, project_id: str, is_admin: bool, description: str = ""
    ) -> tuple[TokenInfo, str]:
        """A new token; the secret is returned once and never stored."""
        secret = secrets.token_urlsafe(32)
        info = TokenInfo(str(uuid.uuid4()), project_id, is_admin, description, datetime.now(UTC))
        with self.engine.begin() as connection:
            connection.execute(
                insert(t.tokens).values(
                    id=info.id,
                    token_hash=_digest(secret),
                    project_id=project_id,
                    is_admin=is_admin,
                    description=description,
                    created_at=info.created_at,
                )
            )
        return info, secret

    def authenticate(self, secret: str) -> RequestContext | None:
        """The caller a secret stands for, or ``None``."""
        statement = select(t.tokens.c.project_id, t.tokens.c.is_admin).where(
            t.tokens.c.token_hash == _digest(secret)
        )
        with self.engine.connect() as connection:
            row = connection.execute(statement).first()
        return None if row is None else RequestContext(row.project_id, row.is_admin)

    def list(self) -> list[TokenInfo]:
        """Every token, oldest first."""
        statement = select(t.tokens).order_by(t.tokens.c.created_at)
        with self.engine.connect() as connection:
            return [
                TokenInfo(r.id, r.project_id, r.is_admin, r.description, r.created_at)
                for r in connection.execute(statement)
            ]

    def revoke(self, token_id: str) -> bool:
        """Delete a token; ``False`` when there was none."""
        with self.engine.begin() as connection:
            return (
                connection.execute(delete(t.tokens).where(t.tokens.c.id == token_id)).rowcount > 0
            )
