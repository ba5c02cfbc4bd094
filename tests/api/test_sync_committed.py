"""sync_token against really committed, interleaved transactions (no savepoint fixture).

The hole it closes: ``updated_at`` is stamped before commit, so a change that commits
after a later-stamped one is invisible to "updated_since the newest I saw". Each test
interleaves separate connections in one thread, step by step (no sleeps, no threads:
the writers touch different rows, so nothing waits), and deletes its tenant afterwards.
"""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import delete, select, text
from sqlalchemy.orm import Session

from payymo import db
from payymo.models import Event, Invoice, Tenant, Transaction
from payymo.services import api_keys as key_service
from payymo.services import invoices as invoice_service
from payymo.services import tenants as tenant_service
from payymo.services.reconciliation.run import run_reconciliation
from payymo.tenancy import tenant_scope
from tests.helpers import ApiClient
from tests.reconcile_world import account, add, credit_row, invoice_row


@pytest.fixture
def committed(app, request):
    """(tenant id, API client) committed on the real engine; the tenant is deleted after."""
    assert "connection" not in request.fixturenames
    engine = db.engine()
    db.session.remove()
    db.session_factory.configure(bind=engine, join_transaction_mode="conditional_savepoint")
    with Session(engine) as session:
        tenant = tenant_service.create_tenant(session=session, name="Sync Ltd")
        with tenant_scope(tenant.id):
            _key, secret = key_service.create_key(session=session)
            session.commit()
        tenant_id = tenant.id
    try:
        yield tenant_id, ApiClient(app.test_client(), secret)
    finally:
        db.session.remove()
        with Session(engine) as session:
            session.execute(delete(Tenant).where(Tenant.id == tenant_id))
            session.commit()


@pytest.fixture
def open_writers(committed):
    """Transactions a test leaves open; rolled back before the tenant is deleted.

    A failed assertion between ``start_update`` and ``finish`` would otherwise keep a
    row lock that the tenant's deletion then waits on forever.
    """
    sessions: list[Session] = []
    yield sessions
    for session in sessions:
        session.close()


def writer() -> Session:
    """A session of its own on the real engine: its commits are real."""
    return Session(db.engine(), expire_on_commit=False)


def sync_all(api, resource: str, token: str) -> tuple[list[dict], str]:
    """Every row of one sync walk and the token for the next."""
    rows = []
    while True:
        response = api.get(resource, query_string={"sync_token": token, "limit": 100})
        assert response.status_code == 200, response.json
        rows += response.json["data"]
        token = response.json["next_sync_token"]
        if not response.json["has_more"]:
            return rows, token


def list_updated_since(api, since: str | None) -> list[dict]:
    """The old contract: every invoice with updated_at >= since (one page is enough here)."""
    query = {"limit": 100, **({"updated_since": since} if since else {})}
    response = api.get("invoices", query_string=query)
    assert response.status_code == 200, response.json
    return response.json["data"]


def newest(rows: list[dict], since: str | None) -> str | None:
    """What an updated_since client remembers: the largest updated_at it has seen."""
    stamps = [dt.datetime.fromisoformat(row["updated_at"]) for row in rows]
    if since:
        stamps.append(dt.datetime.fromisoformat(since))
    return max(stamps).isoformat() if stamps else since


def start_update(opened: list, tenant_id: str, invoice_id: str, metadata: dict) -> Session:
    """Update an invoice's metadata (no reconcile run) and leave the transaction open."""
    session = writer()
    opened.append(session)
    with tenant_scope(tenant_id):
        invoice_service.update_invoice(
            session=session, invoice_id=invoice_id, changes={"metadata": metadata}
        )
        session.flush()
    return session


def finish(session: Session, tenant_id: str) -> None:
    with tenant_scope(tenant_id):
        session.commit()
    session.close()


def stamps(tenant_id: str, model, ids: list[str]) -> dict[str, int]:
    """The rows' change_seq as the database wrote it (not mapped by the ORM)."""
    column = model.__table__.c.change_seq
    with writer() as session, tenant_scope(tenant_id):
        return dict(session.execute(select(model.id, column).where(model.id.in_(ids))).all())


def xid(session: Session) -> int:
    """The id of the session's (write) transaction."""
    return session.scalar(text("SELECT pg_current_xact_id()::text::bigint"))


def versions(rows: list[dict]) -> set[tuple[str, str]]:
    return {(row["id"], row["metadata"].get("v", "")) for row in rows}


@pytest.mark.postgres
def test_a_change_committed_after_a_later_stamped_one_is_not_missed(committed, open_writers):
    tenant_id, api = committed
    with writer() as session:
        a, b = add(
            session,
            tenant_id,
            invoice_row("INV-A", 1_000, "Alpha"),
            invoice_row("INV-B", 2_000, "Beta"),
        )
    # Two clients sync from scratch: by updated_since, and by sync_token.
    old_seen = list_updated_since(api, None)
    mark = newest(old_seen, None)
    seen, token = sync_all(api, "invoices", "0")
    events_seen, events_token = sync_all(api, "events", "0")
    assert {(a, ""), (b, "")} <= versions(old_seen) and {(a, ""), (b, "")} <= versions(seen)

    t1 = start_update(open_writers, tenant_id, a, {"v": "t1"})  # stamps A first, commits last
    t2 = start_update(open_writers, tenant_id, b, {"v": "t2"})
    xids = {a: xid(t1), b: xid(t2)}
    finish(t2, tenant_id)

    page = list_updated_since(api, mark)
    old_seen += page
    mark = newest(page, mark)
    rows, token = sync_all(api, "invoices", token)
    seen += rows
    rows, events_token = sync_all(api, "events", events_token)
    events_seen += rows
    assert (b, "t2") in versions(old_seen) and (b, "t2") in versions(seen)
    assert (a, "t1") not in versions(seen)  # not committed yet

    finish(t1, tenant_id)
    # Each row carries its writer's transaction id (whatever else runs on the server).
    assert stamps(tenant_id, Invoice, [a, b]) == xids

    old_seen += list_updated_since(api, mark)
    rows, token = sync_all(api, "invoices", token)
    seen += rows
    rows, events_token = sync_all(api, "events", events_token)
    events_seen += rows
    # The hole: A's updated_at is older than B's, so "updated_since the newest seen" skips it.
    assert (a, "t1") not in versions(old_seen)
    # sync_token cannot skip it: the watermark stayed below T1 while it ran.
    assert (a, "t1") in versions(seen)
    updates = {
        (e["data"]["object"]["id"], e["data"]["object"]["metadata"].get("v"))
        for e in events_seen
        if e["event_type"] == "invoice.updated"
    }
    assert updates == {(a, "t1"), (b, "t2")}


def test_a_writer_still_open_during_a_sync_is_not_skipped(committed, open_writers):
    # SQLite too: its one writer holds the write lock from its first change to commit.
    tenant_id, api = committed
    with writer() as session:
        (a,) = add(session, tenant_id, invoice_row("INV-A", 1_000, "Alpha"))
    _rows, token = sync_all(api, "invoices", "0")
    t1 = start_update(open_writers, tenant_id, a, {"v": "late"})
    rows, token = sync_all(api, "invoices", token)
    assert (a, "late") not in versions(rows)
    finish(t1, tenant_id)
    rows, token = sync_all(api, "invoices", token)
    assert (a, "late") in versions(rows)
    if db.engine().dialect.name == "sqlite":
        # PostgreSQL may send it once more while an older transaction (any database on
        # the server) holds the watermark back: at least once, never missed.
        assert sync_all(api, "invoices", token)[0] == []


def test_rows_written_by_the_reconcile_writer_come_back(committed):
    # On PostgreSQL the writer changes rows with UPDATE ... FROM unnest and adds its
    # matches and events with COPY: the triggers stamp those rows as well.
    tenant_id, api = committed
    with writer() as session:
        acc = account(session, tenant_id)
        (invoice,) = add(session, tenant_id, invoice_row("INV-1001", 12_300, "Initech BV"))
        (credit,) = add(
            session, tenant_id, credit_row(acc, 12_300, "Payment INV-1001", "INITECH B.V.")
        )
    tokens = {name: sync_all(api, name, "0")[1] for name in ("invoices", "transactions", "events")}
    before = {**stamps(tenant_id, Invoice, [invoice]), **stamps(tenant_id, Transaction, [credit])}
    with writer() as session, tenant_scope(tenant_id):
        result = run_reconciliation(session=session)
        session.commit()
    assert result["auto_matched"] == 1, result
    invoices = sync_all(api, "invoices", tokens["invoices"])[0]
    assert (invoice, "paid") in {(row["id"], row["status"]) for row in invoices}
    txns = sync_all(api, "transactions", tokens["transactions"])[0]
    assert (credit, "matched") in {(row["id"], row["match_status"]) for row in txns}
    events = sync_all(api, "events", tokens["events"])[0]
    matched = [row["id"] for row in events if row["event_type"] == "transaction.matched"]
    assert len(matched) == 1
    # Stamped by the writer's own statements, whatever else holds the watermark back.
    after = {**stamps(tenant_id, Invoice, [invoice]), **stamps(tenant_id, Transaction, [credit])}
    assert after[invoice] > before[invoice] and after[credit] > before[credit]
    assert stamps(tenant_id, Event, matched)[matched[0]] > max(before.values())
