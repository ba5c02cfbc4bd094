"""Database failures a client can retry answer 409/503 with Retry-After, never a bare 500."""

from __future__ import annotations

import time

import pytest
from sqlalchemy import create_engine, select, text
from sqlalchemy.exc import DBAPIError

from payymo import db, runtime
from payymo.api.database_errors import database_error
from payymo.models import Invoice
from payymo.tenancy import tenant_scope
from tests.concurrency import Blocked, committed_world
from tests.tasks.processes import free_port

pytestmark = pytest.mark.postgres


@pytest.fixture
def world(app):
    with committed_world(app) as made:
        yield made


@pytest.fixture
def short_lock_timeout(app, settings):
    """The app's connections give up waiting for a row lock after 300 ms."""
    runtime.configure(settings.with_overrides(db_lock_timeout_ms=300))
    yield
    runtime.configure(settings)


def test_a_row_busy_past_the_lock_timeout_answers_503_with_retry_after(world, short_lock_timeout):
    factory, api = world["factory"], world["api"]
    with factory() as session, tenant_scope(world["tenant_id"]):
        session.scalars(
            select(Invoice).where(Invoice.id == world["invoice_id"]).with_for_update()
        ).one()
        response = api.patch(f"invoices/{world['invoice_id']}", json={"number": "INV-8"})
        session.rollback()
    assert response.status_code == 503, response.json
    error = response.json["error"]
    assert (error["type"], error["code"]) == ("api_error", "lock_timeout")
    assert response.headers["Retry-After"] == "2"
    assert "SQL" not in error["message"] and "lock_timeout" not in error["message"]
    # Nothing changed; the retry succeeds once the row is free.
    retried = api.patch(f"invoices/{world['invoice_id']}", json={"number": "INV-8"})
    assert (retried.status_code, retried.json["number"]) == (200, "INV-8")


def test_a_deadlock_answers_409_with_retry_after(world):
    factory, api = world["factory"], world["api"]
    tenant_id = world["tenant_id"]
    with factory() as session, tenant_scope(tenant_id):
        second = Invoice(
            external_id="LATER", number="INV-9", amount_due=500, currency="EUR", metadata_={}
        )
        session.add(second)
        session.commit()
        first_id, second_id = sorted([world["invoice_id"], second.id])
        externals = dict(session.execute(select(Invoice.id, Invoice.external_id)).all())
    rows = [
        {"external_id": externals[i], "amount_due": 2000, "currency": "EUR"}
        for i in (first_id, second_id)
    ]
    with factory() as session, tenant_scope(tenant_id):
        # Lock the later invoice; the batch locks the earlier one, then waits on this one.
        session.scalars(select(Invoice).where(Invoice.id == second_id).with_for_update()).one()
        call = Blocked.start(
            db.engine(), lambda: api.post("invoices/batch", json={"invoices": rows})
        )
        # Closing the cycle: PostgreSQL aborts the request, which has waited longer. Each
        # waiting backend checks for a deadlock one deadlock_timeout after it began to
        # wait; a few ms apart, a busy machine once let this session's check run first.
        time.sleep(0.5)
        session.scalars(select(Invoice).where(Invoice.id == first_id).with_for_update()).one()
        session.rollback()
    response = call.result()
    assert response.status_code == 409, response.json
    assert response.json["error"]["code"] == "concurrent_update"
    assert response.headers["Retry-After"] == "1"


def test_a_statement_timeout_maps_to_503(settings):
    engine = create_engine(
        settings.database_url, connect_args={"options": "-c statement_timeout=50"}
    )
    try:
        with pytest.raises(DBAPIError) as caught, engine.connect() as conn:
            conn.execute(text("SELECT pg_sleep(2)"))
    finally:
        engine.dispose()
    error = database_error(caught.value)
    assert (error.status, error.code, error.headers) == (
        503,
        "statement_timeout",
        {"Retry-After": "2"},
    )


def test_an_unreachable_database_answers_503(app, settings):
    closed = f"postgresql+psycopg://nobody@127.0.0.1:{free_port()}/none"
    runtime.configure(settings.with_overrides(database_url=closed))
    try:
        response = app.test_client().get("/api/v1/invoices", headers={"X-API-Key": "pym_x"})
    finally:
        runtime.configure(settings)
    assert response.status_code == 503, response.json
    assert response.json["error"]["code"] == "database_unavailable"
    assert response.headers["Retry-After"] == "5"
