"""Where provider access tokens are cached across processes: Redis, else the database.

Values are encrypted at rest with the configured key (tokens grant access to bank data).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import logging

from sqlalchemy import delete, select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from integrations.banking.tokens import MemoryTokenStore
from payymo import db, runtime, secrets_box
from payymo.db import utcnow
from payymo.models import ProviderToken
from payymo.redis_guard import RedisUnavailable

log = logging.getLogger(__name__)

_PREFIX = "payymo:provider_token:"
_WAIT_MS = 200


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
    """Tokens in ``provider_tokens`` (a transaction of their own), this process's copy first.

    A cache: when the database cannot take the write right now (SQLite has one writer),
    the token stays in this process and the next process asks the provider for its own.
    """

    _local = MemoryTokenStore()

    def get(self, key: str) -> str | None:
        """The decrypted, unexpired token under ``key``, or None."""
        value = self._local.get(key)
        if value is not None:
            return value
        try:
            with Session(db.engine()) as session:
                row = session.scalar(select(ProviderToken).where(ProviderToken.key == key))
                if row is None or row.expires_at <= utcnow():
                    return None
                return secrets_box.decrypt(row.value)
        except (SQLAlchemyError, secrets_box.UnreadableSecret):
            return None

    def set(self, key: str, value: str, *, ttl: int) -> None:
        """Store ``value`` encrypted until ``ttl`` seconds from now."""
        self._local.set(key, value, ttl=ttl)
        expires = utcnow() + dt.timedelta(seconds=max(int(ttl), 1))
        sqlite = db.engine().dialect.name == "sqlite"
        try:
            with db.engine().connect() as conn:
                if sqlite:
                    # A cache write never waits long for SQLite's one writer.
                    conn.exec_driver_sql(f"PRAGMA busy_timeout = {_WAIT_MS}")
                try:
                    with Session(conn) as session, session.begin():
                        session.execute(delete(ProviderToken).where(ProviderToken.key == key))
                        token = secrets_box.encrypt(value)
                        session.add(ProviderToken(key=key, value=token, expires_at=expires))
                finally:
                    if sqlite:
                        conn.exec_driver_sql("PRAGMA busy_timeout = 30000")
        except SQLAlchemyError as exc:
            log.warning("provider token not stored", extra={"error": type(exc).__name__})


def token_store():
    """The store for this deployment: Redis when configured, else the database."""
    return RedisTokenStore() if runtime.redis_guard() is not None else DatabaseTokenStore()
