"""Interleave two real PostgreSQL sessions deterministically: no sleeps decide an order.

``Blocked.start(fn)`` runs ``fn`` in a thread and returns once that thread's database
session is waiting on a lock held by the test (PostgreSQL's own view of it, in
``pg_stat_activity``), so the test knows the second writer is parked behind the first
before it lets the first commit.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import delete, text
from sqlalchemy.engine import Engine
from sqlalchemy.orm import sessionmaker

from payymo import db
from payymo.models import Tenant
from payymo.services import api_keys as key_service
from payymo.services import tenants as tenant_service
from payymo.tenancy import tenant_scope
from tests.helpers import ApiClient
from tests.reconcile_world import account, add, credit_row, invoice_row

WAITING = text(
    "SELECT count(*) FROM pg_stat_activity "
    "WHERE datname = current_database() AND wait_event_type = 'Lock'"
)


class Blocked:
    """A call running in a thread, known to be waiting on a database lock."""

    def __init__(self, fn: Callable[[], Any]):
        self._fn = fn
        self._result: Any = None
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        try:
            self._result = self._fn()
        except BaseException as exc:  # handed to the test by result()
            self._error = exc

    @classmethod
    def start(cls, engine: Engine, fn: Callable[[], Any], *, timeout: float = 20) -> Blocked:
        """Run ``fn`` in a thread; return once it waits on a lock (fail if it never does)."""
        call = cls(fn)
        call._thread.start()
        deadline = time.monotonic() + timeout
        with engine.connect() as conn:
            while True:
                if conn.execute(WAITING).scalar_one() > 0:
                    return call
                if not call._thread.is_alive():
                    raise AssertionError(f"the call finished without waiting on a lock: {call}")
                if time.monotonic() > deadline:
                    raise AssertionError("the call never waited on a lock")
                conn.rollback()  # a fresh snapshot of pg_stat_activity each time
                time.sleep(0.005)  # polling only: the order is fixed by the lock itself

    def result(self, timeout: float = 30) -> Any:
        """The call's return value once it has finished (its exception re-raised)."""
        self._thread.join(timeout)
        if self._thread.is_alive():
            raise AssertionError("the blocked call did not finish after the lock was released")
        if self._error is not None:
            raise self._error
        return self._result

    def __repr__(self) -> str:
        return f"Blocked(result={self._result!r}, error={self._error!r})"


@contextmanager
def committed_world(app) -> Iterator[dict]:
    """A committed tenant with a key, a 1000 credit and a 1000 invoice; deleted after."""
    factory = sessionmaker(bind=db.engine(), expire_on_commit=False)
    with factory() as session:
        tenant = tenant_service.create_tenant(session=session, name="Lock Ltd")
        session.commit()
        with tenant_scope(tenant.id):
            _key, secret = key_service.create_key(session=session)
            session.commit()
        account_id = account(session, tenant.id)
        txn_id, invoice_id = add(
            session,
            tenant.id,
            credit_row(account_id, 1000, "INV-7 thanks", "Initech BV"),
            invoice_row("INV-7", 1000, "Initech BV"),
        )
    try:
        yield {
            "factory": factory,
            "tenant_id": tenant.id,
            "api": ApiClient(app.test_client(), secret),
            "account_id": account_id,
            "txn_id": txn_id,
            "invoice_id": invoice_id,
        }
    finally:
        with factory() as session:
            session.execute(delete(Tenant).where(Tenant.id == tenant.id))
            session.commit()
