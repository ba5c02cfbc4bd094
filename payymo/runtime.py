"""Process-wide wiring shared by the web app, the CLI and RQ workers."""

from __future__ import annotations

from functools import lru_cache

from payymo import db
from payymo.config import Settings, load_settings
from payymo.redis_guard import RedisGuard

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
    redis_guard.cache_clear()
    return _settings


def settings() -> Settings:
    """The installed settings (configuring from the environment on first use)."""
    return _settings or configure()


@lru_cache(maxsize=1)
def redis_guard() -> RedisGuard | None:
    """The shared Redis client behind its circuit breaker, or None on the embedded default."""
    configured = settings()
    if not configured.redis_url:
        return None
    return RedisGuard.from_settings(configured)


def redis_connection():
    """The shared Redis client, or None on the embedded default (prefer ``redis_guard``)."""
    guard = redis_guard()
    return None if guard is None else guard.client


def redis_up() -> float | None:
    """1 while Redis answers, 0 while its breaker is open, None when not configured."""
    guard = redis_guard()
    return None if guard is None else float(guard.up)
