"""At most one sync of a connection at a time, across processes, without waiting.

A session-level ``pg_try_advisory_lock`` on a dedicated autocommit connection: the sync
makes provider calls between its transactions, and PostgreSQL drops the lock if the
worker dies. On SQLite (one process) a process-wide lock does the same.
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import text
from sqlalchemy.orm import Session

_local: dict[str, threading.Lock] = {}
_guard = threading.Lock()


def _key(connection_id: str) -> int:
    digest = hashlib.blake2b(f"payymo:sync:{connection_id}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)


@contextmanager
def try_sync_lock(session: Session, connection_id: str) -> Iterator[bool]:
    """Yield True holding the connection's sync lock, or False when a sync already runs."""
    engine = session.get_bind().engine
    if engine.dialect.name != "postgresql":
        with _guard:
            lock = _local.setdefault(connection_id, threading.Lock())
        got = lock.acquire(blocking=False)
        try:
            yield got
        finally:
            if got:
                lock.release()
        return
    key = _key(connection_id)
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        got = bool(conn.execute(text("SELECT pg_try_advisory_lock(:k)"), {"k": key}).scalar())
        try:
            yield got
        finally:
            if got:
                conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": key})
