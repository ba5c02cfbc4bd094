"""Redis with short timeouts behind a circuit breaker, so an outage is not ours.

Every Redis use in the process (rate limits, enqueueing, /readyz) goes through one
``RedisGuard``: a failed call opens the breaker, and for ``cooldown`` seconds calls skip
Redis instantly; then a single call probes it and its outcome closes or re-opens it.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import TypeVar

import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

log = logging.getLogger("payymo.redis")

T = TypeVar("T")
# How often an idle pooled connection is PINGed before reuse (finds ones a restart killed).
HEALTH_CHECK_SECONDS = 30


class RedisUnavailable(Exception):
    """Redis did not answer, or the breaker is open: use the fallback."""


class CircuitBreaker:
    """Closed, or open until a deadline after which one probe is let through."""

    def __init__(self, *, cooldown: float) -> None:
        self.cooldown = cooldown
        self.openings = 0
        self._lock = threading.Lock()
        self._open = False
        self._retry_at = 0.0

    @property
    def closed(self) -> bool:
        """True while calls go to Redis."""
        return not self._open

    def allow(self) -> bool:
        """Whether a call may try Redis now (when open: one probe per cooldown)."""
        with self._lock:
            if not self._open:
                return True
            now = time.monotonic()
            if now < self._retry_at:
                return False
            # This caller is the probe; the others keep skipping until it reports.
            self._retry_at = now + self.cooldown
            return True

    def succeeded(self) -> bool:
        """Record a good call; True when it closed an open breaker."""
        with self._lock:
            reopened, self._open = self._open, False
            return reopened

    def failed(self) -> bool:
        """Record a failed call; True when it opened a closed breaker."""
        with self._lock:
            opened = not self._open
            self._open = True
            self._retry_at = time.monotonic() + self.cooldown
            if opened:
                self.openings += 1
            return opened


class RedisGuard:
    """A Redis client and the breaker every call on it goes through."""

    def __init__(self, client: redis.Redis, breaker: CircuitBreaker) -> None:
        self.client = client
        self.breaker = breaker

    @classmethod
    def from_settings(cls, settings) -> RedisGuard:
        """A client on ``settings.redis_url`` with the short timeouts and a fresh breaker."""
        client = redis.Redis.from_url(
            settings.redis_url,
            socket_connect_timeout=settings.redis_connect_timeout,
            socket_timeout=settings.redis_socket_timeout,
            # One immediate retry on a broken connection (a pooled one a restart killed);
            # none on a timeout, which would only double the wait on a stuck server.
            retry=Retry(NoBackoff(), 1, supported_errors=(redis.ConnectionError,)),
            health_check_interval=HEALTH_CHECK_SECONDS,
        )
        return cls(client, CircuitBreaker(cooldown=settings.redis_breaker_seconds))

    @property
    def up(self) -> bool:
        """False while the breaker is open."""
        return self.breaker.closed

    def call(self, op: Callable[[redis.Redis], T], *, what: str) -> T:
        """``op(client)``, or ``RedisUnavailable`` when the breaker is open or the call fails."""
        if not self.breaker.allow():
            raise RedisUnavailable("circuit open")
        try:
            result = op(self.client)
        except (redis.RedisError, OSError) as exc:
            if self.breaker.failed():
                log.warning(
                    "Redis unavailable: rate limits count per process and jobs wait for the "
                    "sweeper until it answers again",
                    extra={
                        "event": "redis.unavailable",
                        "during": what,
                        "error": type(exc).__name__,
                        "retry_in_seconds": self.breaker.cooldown,
                    },
                )
            raise RedisUnavailable(type(exc).__name__) from exc
        if self.breaker.succeeded():
            log.info("Redis answers again", extra={"event": "redis.available", "during": what})
        return result
