"""Writes to amounts and statuses re-check under the row lock a concurrent match holds.

Each test opens a match in one real PostgreSQL session and leaves it uncommitted (its
rows locked), sends the competing request through the API in a thread, waits until
PostgreSQL reports that request waiting on the lock, then commits the match. The request
must then see the match's amounts, not what it read before, and the books must balance.
"""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select

from payymo import db
from payymo.models import Allocation, ApiKey, Invoice, Transaction
from payymo.services import allocations, invoices
from payymo.services import api_keys as key_service
from payymo.tenancy import tenant_scope
from tests.books import assert_books_balance
from tests.concurrency import Blocked, committed_world

pytestmark = pytest.mark.postgres


@pytest.fixture
def world(app):
    """A committed tenant with a key, a 1000 credit and a 1000 invoice; deleted after."""
    with committed_world(app) as made:
        yield made


def _while_a_match_is_open(world, request):
    """Hold a full match of the credit to the invoice open; ``request`` waits behind it."""
    with world["factory"]() as session, tenant_scope(world["tenant_id"]):
        allocations.apply_match(
            session=session,
            transaction_id=world["txn_id"],
            allocations=[(world["invoice_id"], 1000)],
            method="manual",
            created_by="test",
        )
        session.flush()
        call = Blocked.start(db.engine(), request)
        session.commit()
    return call.result()


def _invoice(world) -> Invoice:
    with world["factory"]() as session, tenant_scope(world["tenant_id"]):
        return session.scalars(select(Invoice).where(Invoice.id == world["invoice_id"])).one()


def _books(world) -> None:
    with world["factory"]() as session:
        assert_books_balance(session, world["tenant_id"])


def test_lowering_amount_due_below_a_concurrent_payment_is_refused(world):
    api = world["api"]
    response = _while_a_match_is_open(
        world, lambda: api.patch(f"invoices/{world['invoice_id']}", json={"amount_due": 600})
    )
    assert response.status_code == 400, response.json
    assert response.json["error"]["code"] == "amount_below_paid"
    invoice = _invoice(world)
    assert (invoice.amount_due, invoice.amount_paid, invoice.status) == (1000, 1000, "paid")
    _books(world)


def test_raising_amount_due_during_a_payment_leaves_the_invoice_partially_paid(world):
    api = world["api"]
    response = _while_a_match_is_open(
        world, lambda: api.patch(f"invoices/{world['invoice_id']}", json={"amount_due": 1500})
    )
    assert response.status_code == 200, response.json
    assert (response.json["amount_paid"], response.json["status"]) == (1000, "partially_paid")
    invoice = _invoice(world)
    assert (invoice.amount_due, invoice.amount_paid, invoice.status) == (
        1500,
        1000,
        "partially_paid",
    )
    _books(world)


def test_batch_upsert_rechecks_each_invoice_under_its_lock(world):
    api = world["api"]
    external_id = _invoice(world).external_id
    body = {"invoices": [{**_row(external_id), "amount_due": 600}]}
    response = _while_a_match_is_open(world, lambda: api.post("invoices/batch", json=body))
    assert response.status_code == 207, response.json
    [row] = response.json["results"]
    assert (row["status"], row["error"]["code"]) == ("error", "amount_below_paid")
    invoice = _invoice(world)
    assert (invoice.amount_due, invoice.amount_paid, invoice.status) == (1000, 1000, "paid")
    _books(world)


def test_batch_upsert_raising_an_invoice_being_paid_keeps_it_open_for_the_rest(world):
    api = world["api"]
    external_id = _invoice(world).external_id
    body = {"invoices": [{**_row(external_id), "amount_due": 1500}]}
    response = _while_a_match_is_open(world, lambda: api.post("invoices/batch", json=body))
    assert response.status_code == 200, response.json
    invoice = _invoice(world)
    assert (invoice.amount_due, invoice.amount_paid, invoice.status) == (
        1500,
        1000,
        "partially_paid",
    )
    _books(world)


def test_voiding_an_invoice_being_paid_is_refused(world):
    api = world["api"]
    response = _while_a_match_is_open(
        world, lambda: api.post(f"invoices/{world['invoice_id']}/void")
    )
    assert response.status_code == 409, response.json
    assert response.json["error"]["code"] == "invoice_has_payments"
    invoice = _invoice(world)
    assert invoice.status == "paid"
    with world["factory"]() as session, tenant_scope(world["tenant_id"]):
        live = session.scalars(
            select(Allocation).where(
                Allocation.invoice_id == world["invoice_id"], Allocation.status == "active"
            )
        ).all()
    assert [line.amount for line in live] == [1000]
    _books(world)


def test_ignoring_a_transaction_being_matched_is_refused(world):
    api = world["api"]
    response = _while_a_match_is_open(
        world, lambda: api.patch(f"transactions/{world['txn_id']}", json={"ignored": True})
    )
    assert response.status_code == 409, response.json
    assert response.json["error"]["code"] == "transaction_matched"
    with world["factory"]() as session, tenant_scope(world["tenant_id"]):
        txn = session.scalars(select(Transaction).where(Transaction.id == world["txn_id"])).one()
    assert (txn.match_status, txn.amount_allocated) == ("matched", 1000)
    _books(world)


def test_a_match_waiting_on_a_lowered_invoice_allocates_only_what_is_left(world):
    # The other order: the edit holds the lock first, the match re-checks after it.
    factory, tenant_id = world["factory"], world["tenant_id"]

    def match():
        with factory() as session, tenant_scope(tenant_id):
            try:
                allocations.apply_match(
                    session=session,
                    transaction_id=world["txn_id"],
                    allocations=[(world["invoice_id"], 1000)],
                    method="manual",
                    created_by="test",
                )
            except Exception as exc:
                session.rollback()
                return exc
            session.commit()
            return None

    with factory() as session, tenant_scope(tenant_id):
        invoices.update_invoice(
            session=session, invoice_id=world["invoice_id"], changes={"amount_due": 600}
        )
        session.flush()
        call = Blocked.start(db.engine(), match)
        session.commit()
    error = call.result()
    assert error is not None and error.code == "amount_exceeds_open"
    invoice = _invoice(world)
    assert (invoice.amount_due, invoice.amount_paid, invoice.status) == (600, 0, "open")
    _books(world)


def test_two_rolls_of_one_key_issue_one_replacement(world):
    api, factory, tenant_id = world["api"], world["factory"], world["tenant_id"]
    target = api.post("api_keys", json={"name": "rolled", "scopes": ["invoices:read"]}).json["id"]
    with factory() as session, tenant_scope(tenant_id):
        key = session.scalars(select(ApiKey).where(ApiKey.id == target).with_for_update()).one()
        replacement, _secret = key_service.roll_key(
            session=session, key=key, grace=dt.timedelta(hours=1)
        )
        session.flush()
        call = Blocked.start(db.engine(), lambda: api.post(f"api_keys/{target}/roll", json={}))
        session.commit()
    response = call.result()
    assert response.status_code == 409, response.json
    assert response.json["error"]["code"] == "api_key_rolled"
    with factory() as session, tenant_scope(tenant_id):
        rolled = session.scalars(select(ApiKey).where(ApiKey.name == "rolled")).all()
    assert sorted(k.id for k in rolled) == sorted([target, replacement.id])


def _row(external_id: str) -> dict:
    return {
        "external_id": external_id,
        "number": "INV-7",
        "customer_name": "Initech BV",
        "amount_due": 1000,
        "currency": "EUR",
        "issue_date": "2026-10-31",
        "due_date": "2026-11-30",
    }
