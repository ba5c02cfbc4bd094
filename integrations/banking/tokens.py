"""An in-process ``TokenStore``: the default, and a fast first layer in front of others."""

from __future__ import annotations

import threading
import time


class MemoryTokenStore:
    """Thread-safe values with a time to live, in this process only."""

    def __init__(self):
        self._values: dict[str, tuple[str, float]] = {}
        self._guard = threading.Lock()

    def get(self, key: str) -> str | None:
        """The value under ``key`` unless expired."""
        with self._guard:
            item = self._values.get(key)
        if item is None or item[1] <= time.monotonic():
            return None
        return item[0]

    def set(self, key: str, value: str, *, ttl: int) -> None:
        """Store ``value`` for ``ttl`` seconds."""
        with self._guard:
            self._values[key] = (value, time.monotonic() + ttl)
