"""Process-wide wiring shared by the web app, the CLI and RQ workers."""

from __future__ import annotations

from functools import lru_cache

from payymo import db
from payymo.config import Settings, load_settings

_settings: Settings | None = None


def configure(settings: Settings | None = None) -> Settings:
    """Install ``settings`` for this process and point the database at it."""
    global _settings
    _settings = settings or load_settings()
    db.configure(
        _settings.database_url,
        db.Timeouts(
            statement_ms=_settings.db_statement_timeout_ms,
            lock_ms=_settings.db_lock_timeout_ms,
            idle_in_transaction_ms=_settings.db_idle_in_transaction_timeout_ms,
        ),
    )
    redis_connection.cache_clear()
    return _settings


def settings() -> Settings:
    """The installed settings (configuring from the environment on first use)."""
    return _settings or configure()


@lru_cache(maxsize=1)
def redis_connection():
    """A shared Redis client, or None on the embedded default."""
    url = settings().redis_url
    if not url:
        return None
    import redis

    return redis.Redis.from_url(url, socket_timeout=5, socket_connect_timeout=2)
