"""Where provider access tokens are cached across processes: Redis, else the database.

Values are encrypted at rest with the configured key (tokens grant access to bank data).
"""

from __future__ import annotations

import contextlib
import datetime as dt

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from payymo import db, runtime, secrets_box
from payymo.db import utcnow
from payymo.models import ProviderToken
from payymo.redis_guard import RedisUnavailable

_PREFIX = "payymo:provider_token:"


class RedisTokenStore:
    """Tokens in Redis with their TTL; a Redis outage reads as a miss."""

    def get(self, key: str) -> str | None:
        """The decrypted token under ``key``, or None."""
        guard = runtime.redis_guard()
        try:
            value = guard.call(lambda conn: conn.get(_PREFIX + key), what="token get")
        except RedisUnavailable:
            return None
        if value is None:
            return None
        try:
            return secrets_box.decrypt(value.decode() if isinstance(value, bytes) else value)
        except secrets_box.UnreadableSecret:
            return None

    def set(self, key: str, value: str, *, ttl: int) -> None:
        """Store ``value`` encrypted for ``ttl`` seconds (best effort)."""
        token = secrets_box.encrypt(value)
        with contextlib.suppress(RedisUnavailable):
            runtime.redis_guard().call(
                lambda conn: conn.set(_PREFIX + key, token, ex=max(int(ttl), 1)), what="token set"
            )


class DatabaseTokenStore:
    """Tokens in ``provider_tokens``, written in a transaction of their own."""

    def get(self, key: str) -> str | None:
        """The decrypted, unexpired token under ``key``, or None."""
        with Session(db.engine()) as session:
            row = session.scalar(select(ProviderToken).where(ProviderToken.key == key))
            if row is None or row.expires_at <= utcnow():
                return None
            try:
                return secrets_box.decrypt(row.value)
            except secrets_box.UnreadableSecret:
                return None

    def set(self, key: str, value: str, *, ttl: int) -> None:
        """Store ``value`` encrypted until ``ttl`` seconds from now."""
        expires = utcnow() + dt.timedelta(seconds=max(int(ttl), 1))
        with Session(db.engine()) as session, session.begin():
            session.execute(delete(ProviderToken).where(ProviderToken.key == key))
            session.add(
                ProviderToken(key=key, value=secrets_box.encrypt(value), expires_at=expires)
            )


def token_store():
    """The store for this deployment: Redis when configured, else the database."""
    return RedisTokenStore() if runtime.redis_guard() is not None else DatabaseTokenStore()
