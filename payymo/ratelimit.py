"""Per-key fixed-window rate limits: Redis when configured, process memory otherwise."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass

_local_lock = threading.Lock()
_local_counts: dict[tuple[str, int], int] = {}


@dataclass(frozen=True)
class RateLimitState:
    """What the ``X-RateLimit-*`` headers report."""

    limit: int
    remaining: int
    reset: int  # unix seconds when the window ends
    allowed: bool

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


def _count_local(bucket: str, window: int) -> int:
    with _local_lock:
        # Forget old windows so memory stays bounded.
        for stale in [k for k in _local_counts if k[1] < window]:
            del _local_counts[stale]
        _local_counts[(bucket, window)] = _local_counts.get((bucket, window), 0) + 1
        return _local_counts[(bucket, window)]


def _count_redis(conn, bucket: str, window: int, ttl: int) -> int:
    key = f"payymo:rl:{bucket}:{window}"
    pipe = conn.pipeline()
    pipe.incr(key)
    pipe.expire(key, ttl, nx=True)
    count, _ = pipe.execute()
    return int(count)


def hit(bucket: str, *, limit: int, window_seconds: int, redis_conn=None) -> RateLimitState:
    """Count one request for ``bucket`` and say whether it is within ``limit``."""
    now = time.time()
    window = int(now // window_seconds)
    reset = (window + 1) * window_seconds
    if redis_conn is None:
        count = _count_local(bucket, window)
    else:
        count = _count_redis(redis_conn, bucket, window, window_seconds + 5)
    return RateLimitState(
        limit=limit, remaining=max(limit - count, 0), reset=reset, allowed=count <= limit
    )
