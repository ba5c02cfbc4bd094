"""Fixed-window rate-limit counters: in Redis when it answers, in process memory otherwise.

With Redis configured but down (or its breaker open) the counts fall back to this
process's memory, so requests keep being served; ``RateLimitState.fallback`` says so.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass

from payymo import runtime
from payymo.redis_guard import RedisUnavailable

KEY_PREFIX = "payymo:rl"

_local_lock = threading.Lock()
# (window_seconds, window) → bucket → count
_local_counts: dict[tuple[int, int], dict[str, int]] = {}


@dataclass(frozen=True)
class RateLimitState:
    """What the ``X-RateLimit-*`` headers report for one bucket."""

    bucket: str
    limit: int
    remaining: int
    reset: int  # unix seconds when the window ends
    allowed: bool
    fallback: bool = False  # counted in process memory because Redis was unavailable

    @property
    def retry_after(self) -> int:
        """Seconds until a new window opens (at least 1)."""
        return max(int(self.reset - time.time()), 1)

    def headers(self) -> dict[str, str]:
        """Response headers describing this state."""
        return {
            "X-RateLimit-Limit": str(self.limit),
            "X-RateLimit-Remaining": str(self.remaining),
            "X-RateLimit-Reset": str(self.reset),
        }


def _local(buckets: Sequence[str], window_seconds: int, window: int, *, add: int) -> list[int]:
    with _local_lock:
        # Forget old windows of this length so memory stays bounded.
        for stale in [k for k in _local_counts if k[0] == window_seconds and k[1] < window]:
            del _local_counts[stale]
        counts = _local_counts.setdefault((window_seconds, window), {})
        if add:
            for bucket in buckets:
                counts[bucket] = counts.get(bucket, 0) + add
        return [counts.get(bucket, 0) for bucket in buckets]


def _in_redis(conn, keys: Sequence[str], ttl: int, *, add: int) -> list[int]:
    if not add:
        return [int(v or 0) for v in conn.mget(keys)]
    pipe = conn.pipeline()
    for key in keys:
        pipe.incrby(key, add)
        pipe.expire(key, ttl, nx=True)
    return [int(v) for v in pipe.execute()[::2]]


def _count(buckets: Sequence[str], window_seconds: int, *, add: int) -> tuple[list[int], int, bool]:
    """Counts after adding ``add`` to each bucket, the window's end, and whether it fell back."""
    window = int(time.time() // window_seconds)
    reset = (window + 1) * window_seconds
    guard = runtime.redis_guard()
    if guard is not None:
        keys = [f"{KEY_PREFIX}:{bucket}:{window}" for bucket in buckets]
        try:
            counts = guard.call(
                lambda conn: _in_redis(conn, keys, window_seconds + 5, add=add), what="rate limit"
            )
            return counts, reset, False
        except RedisUnavailable:
            pass
    return _local(buckets, window_seconds, window, add=add), reset, guard is not None


def hit(limits: Sequence[tuple[str, int]], *, window_seconds: int) -> RateLimitState:
    """Count one request in every ``(bucket, limit)``; the tightest bucket's state."""
    counts, reset, fallback = _count([b for b, _ in limits], window_seconds, add=1)
    states = [
        RateLimitState(
            bucket=bucket,
            limit=limit,
            remaining=max(limit - count, 0),
            reset=reset,
            allowed=count <= limit,
            fallback=fallback,
        )
        for (bucket, limit), count in zip(limits, counts, strict=True)
    ]
    return min(states, key=lambda s: (s.allowed, s.remaining))


def peek(bucket: str, *, limit: int, window_seconds: int) -> RateLimitState:
    """Whether one more request fits in ``bucket`` without counting it."""
    (count,), reset, fallback = _count([bucket], window_seconds, add=0)
    return RateLimitState(
        bucket=bucket,
        limit=limit,
        remaining=max(limit - count, 0),
        reset=reset,
        allowed=count < limit,
        fallback=fallback,
    )
