"""Bank charges: a credit short of its invoice by a likely charge, settled or left open.

The tenant's ``charge_tolerance`` decides: within it the invoice is paid in full with the
charge recorded on the allocation and the invoice (``charge``, ``amount_charged``); above
it (or at the default 0) the credit is a partial payment that says why it is short.
"""

from __future__ import annotations

import pytest
from sqlalchemy import select

from payymo.models import Event
from payymo.services.reconciliation.run import run_reconciliation
from payymo.tenancy import tenant_scope
from tests.books import assert_books_balance
from tests.reconciliation_helpers import Seed, assert_error

DUE = 100_000  # 1000.00 EUR
ARRIVED = 98_500  # 15.00 kept by a bank on the way


@pytest.fixture
def seed(session, tenant) -> Seed:
    return Seed(session, tenant.tenant_id)


def _run(session, tenant_id: str) -> dict:
    with tenant_scope(tenant_id):
        counts = run_reconciliation(session=session)
    session.commit()
    return counts


def _events(session, tenant_id: str, kind: str) -> list[dict]:
    with tenant_scope(tenant_id):
        session.expire_all()
        rows = session.scalars(select(Event).where(Event.type == kind).order_by(Event.id))
        return [row.data for row in rows]


def _charged_world(api, session, tenant, seed, tolerance: int) -> tuple[str, str]:
    if tolerance:
        response = api.patch("tenant", json={"settings": {"charge_tolerance": tolerance}})
        assert response.status_code == 200
    invoice = seed.invoice("ERP-1", amount_due=DUE)
    txn = seed.transaction(
        ARRIVED, remittance_information="/RFB/INV-1042 SWIFT transfer", counterparty_name="Initech"
    )
    assert _run(session, tenant.tenant_id)["auto_matched"] == 1
    return invoice, txn


def _only_match(api, txn: str) -> dict:
    matches = api.get(f"reconciliation/matches?transaction_id={txn}").json["data"]
    assert len(matches) == 1
    return matches[0]


def test_within_the_tolerance_the_invoice_is_paid_with_the_charge_recorded(
    api, session, tenant, seed
):
    invoice, txn = _charged_world(api, session, tenant, seed, tolerance=2_500)
    body = api.get(f"invoices/{invoice}").json
    assert body["status"] == "paid"
    assert (body["amount_paid"], body["amount_charged"], body["amount_remaining"]) == (
        ARRIVED,
        1_500,
        0,
    )
    assert body["amount_charged_display"] == "15.00"
    match = _only_match(api, txn)
    assert match["amount"] == ARRIVED  # the money that came in, nothing more
    [line] = match["allocations"]
    assert (line["amount"], line["charge"], line["charge_display"]) == (ARRIVED, 1_500, "15.00")
    reason = next(r for r in match["reasons"] if r["code"] == "amount_short_charge")
    assert reason["text"].startswith("short by 15.00 EUR, a likely bank charge")
    transaction = api.get(f"transactions/{txn}").json
    assert transaction["match_status"] == "matched"
    assert transaction["amount_allocated"] == ARRIVED
    assert_books_balance(session, tenant.tenant_id)


def test_the_events_carry_the_charge(api, session, tenant, seed):
    invoice, txn = _charged_world(api, session, tenant, seed, tolerance=2_500)
    assert _only_match(api, txn)["allocations"][0]["charge"] == 1_500
    [paid] = _events(session, tenant.tenant_id, "invoice.paid")
    assert paid["object"]["id"] == invoice
    assert paid["object"]["amount_charged"] == 1_500
    assert paid["previous_attributes"]["amount_charged"] == 0
    assert paid["previous_attributes"]["amount_charged_display"] == "0.00"
    [matched] = _events(session, tenant.tenant_id, "transaction.matched")
    assert matched["object"]["allocations"][0]["charge"] == 1_500
    assert matched["object"]["allocations"][0]["charge_display"] == "15.00"


def test_without_a_tolerance_it_is_a_partial_payment_that_says_why(api, session, tenant, seed):
    invoice, txn = _charged_world(api, session, tenant, seed, tolerance=0)
    body = api.get(f"invoices/{invoice}").json
    assert body["status"] == "partially_paid"
    assert (body["amount_paid"], body["amount_charged"], body["amount_remaining"]) == (
        ARRIVED,
        0,
        1_500,
    )
    match = _only_match(api, txn)
    assert match["allocations"][0]["charge"] == 0
    codes = {r["code"] for r in match["reasons"]}
    assert "amount_short_charge" in codes and "amount_partial" not in codes
    [partly] = _events(session, tenant.tenant_id, "invoice.partially_paid")
    assert "amount_charged" not in partly["previous_attributes"]  # nothing was written off
    assert_books_balance(session, tenant.tenant_id)


def test_a_tolerance_smaller_than_the_charge_leaves_it_open(api, session, tenant, seed):
    invoice, _ = _charged_world(api, session, tenant, seed, tolerance=1_000)
    body = api.get(f"invoices/{invoice}").json
    assert (body["status"], body["amount_charged"], body["amount_remaining"]) == (
        "partially_paid",
        0,
        1_500,
    )


def test_reversing_gives_the_charge_back_to_the_open_amount(api, session, tenant, seed):
    invoice, txn = _charged_world(api, session, tenant, seed, tolerance=2_500)
    match = _only_match(api, txn)
    response = api.delete(f"reconciliation/matches/{match['id']}")
    assert response.status_code == 200
    assert response.json["allocations"][0]["charge"] == 1_500  # history keeps it
    body = api.get(f"invoices/{invoice}").json
    assert (body["status"], body["amount_paid"], body["amount_charged"]) == ("open", 0, 0)
    assert body["amount_remaining"] == DUE
    updated = _events(session, tenant.tenant_id, "invoice.updated")[-1]
    assert updated["previous_attributes"]["amount_charged"] == 1_500
    assert_books_balance(session, tenant.tenant_id)


def test_a_manual_match_can_write_off_a_charge(api, session, tenant, seed):
    invoice = seed.invoice("ERP-1", amount_due=DUE)
    txn = seed.transaction(ARRIVED)
    line = {"invoice_id": invoice, "amount": ARRIVED, "charge": 1_500}
    response = api.post(
        "reconciliation/matches", json={"transaction_id": txn, "allocations": [line]}
    )
    assert response.status_code == 201, response.json
    assert response.json["allocations"][0]["charge"] == 1_500
    body = api.get(f"invoices/{invoice}").json
    assert (body["status"], body["amount_charged"], body["amount_remaining"]) == ("paid", 1_500, 0)
    assert_books_balance(session, tenant.tenant_id)
    # an invoice's amount_due cannot drop below what was paid and written off
    response = api.patch(f"invoices/{invoice}", json={"amount_due": DUE - 1})
    assert_error(response, 400, type_="invalid_request_error", param="amount_due")


@pytest.mark.parametrize(
    ("charge", "status", "param"),
    [
        (1_501, 400, "allocations[0].charge"),  # more than the invoice has open
        (-1, 400, "allocations[0].charge"),
        (15.0, 400, "allocations[0].charge"),
        ("1500", 400, "allocations[0].charge"),
    ],
)
def test_a_manual_charge_is_checked(api, session, tenant, seed, charge, status, param):
    invoice = seed.invoice("ERP-1", amount_due=DUE)
    txn = seed.transaction(ARRIVED)
    line = {"invoice_id": invoice, "amount": ARRIVED, "charge": charge}
    response = api.post(
        "reconciliation/matches", json={"transaction_id": txn, "allocations": [line]}
    )
    assert response.status_code == status, response.json
    assert response.json["error"]["param"] == param
    assert api.get(f"invoices/{invoice}").json["amount_paid"] == 0


def test_a_suggested_charge_is_shown_and_applied_on_accept(api, session, tenant, seed):
    api.patch("tenant", json={"settings": {"charge_tolerance": 2_500}})
    invoice = seed.invoice("ERP-1", amount_due=DUE)
    txn = seed.transaction(ARRIVED, status="pending")  # pending credits are only suggested
    assert _run(session, tenant.tenant_id)["suggested"] == 1
    [suggestion] = api.get(f"reconciliation/suggestions?transaction_id={txn}").json["data"]
    [line] = suggestion["allocations"]
    assert (line["invoice_id"], line["amount"], line["charge"]) == (invoice, ARRIVED, 1_500)
    assert line["charge_display"] == "15.00"
    response = api.post(f"reconciliation/suggestions/{suggestion['id']}/accept")
    assert response.status_code == 200, response.json
    body = api.get(f"invoices/{invoice}").json
    assert (body["status"], body["amount_charged"], body["amount_remaining"]) == ("paid", 1_500, 0)
    assert_books_balance(session, tenant.tenant_id)
