"""One reconcile run per tenant at a time.

A run commits chunk by chunk, so a transaction-scoped advisory lock would be released
at the first chunk's commit and two runs could interleave. The lock is therefore a
session-level ``pg_advisory_lock`` held on a dedicated autocommit connection for the
whole run: PostgreSQL drops it when that connection closes, even if the worker is
killed. On SQLite (one process, in-process jobs) a process-wide lock is enough.
Correctness against people's manual matches still rests on ``apply_match``'s row locks.
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import text
from sqlalchemy.orm import Session

from payymo.tenancy import current_tenant_id

_HELD = "payymo_reconcile_lock"
_local_locks: dict[str, threading.Lock] = {}
_local_guard = threading.Lock()


def lock_key(tenant_id: str) -> int:
    """A stable signed 64-bit advisory lock key for a tenant's reconcile runs."""
    digest = hashlib.blake2b(f"payymo:reconcile:{tenant_id}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)


def _local_lock(tenant_id: str) -> threading.Lock:
    with _local_guard:
        return _local_locks.setdefault(tenant_id, threading.Lock())


@contextmanager
def tenant_run_lock(session: Session) -> Iterator[None]:
    """Hold the tenant's reconcile lock for the block (re-entrant within one session)."""
    tenant_id = current_tenant_id()
    if session.info.get(_HELD) == tenant_id:
        yield
        return
    engine = session.get_bind().engine
    session.info[_HELD] = tenant_id
    try:
        if engine.dialect.name != "postgresql":
            with _local_lock(tenant_id):
                yield
            return
        key = lock_key(tenant_id)
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            # Waiting for another run to finish is expected: no lock or statement timeout.
            conn.execute(text("SET lock_timeout = 0"))
            conn.execute(text("SET statement_timeout = 0"))
            try:
                conn.execute(text("SELECT pg_advisory_lock(:key)"), {"key": key})
                try:
                    yield
                finally:
                    conn.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": key})
            finally:
                conn.execute(text("RESET lock_timeout"))
                conn.execute(text("RESET statement_timeout"))
    finally:
        session.info.pop(_HELD, None)
