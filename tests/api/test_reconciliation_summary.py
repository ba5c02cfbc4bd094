"""GET /reconciliation: where reconciliation stands, per currency, for this tenant only."""

from __future__ import annotations

import pytest

from payymo.db import utcnow
from payymo.models import Invoice
from payymo.services.allocations import apply_match
from payymo.tenancy import tenant_scope
from tests.reconciliation_helpers import Seed


def part(count: int, amount: int, display: str) -> dict:
    """A count and an amount of one currency, with its display string."""
    return {"count": count, "amount": amount, "amount_display": display}


ZERO = part(0, 0, "0.00")


def _auto(session, tenant_id, txn_id, lines):
    with tenant_scope(tenant_id):
        apply_match(
            session=session,
            transaction_id=txn_id,
            allocations=lines,
            method="auto",
            created_by="engine",
            confidence=0.97,
        )
        session.commit()


def _manual(api, txn_id, invoice_id, amount) -> str:
    response = api.post(
        "reconciliation/matches",
        json={
            "transaction_id": txn_id,
            "allocations": [{"invoice_id": invoice_id, "amount": amount}],
        },
    )
    assert response.status_code == 201, response.json
    return response.json["id"]


def test_an_empty_tenant_has_an_empty_summary(api):
    response = api.get("reconciliation")
    assert response.status_code == 200, response.json
    assert response.json == {
        "object": "reconciliation_summary",
        "credit_count": 0,
        "credits": [],
        "matches": {
            "active": 0,
            "auto": 0,
            "manual": 0,
            "suggestion": 0,
            "stripe": 0,
            "reversed": 0,
        },
        "auto_match_rate": None,
        "auto_matched_credit_rate": None,
        "open_suggestions": 0,
        "open_invoice_count": 0,
        "open_invoices": [],
    }


@pytest.fixture
def books(api, session, tenant, other_tenant):
    """Credits in every state, in two currencies, and another tenant's data beside them."""
    seed = Seed(session, tenant.tenant_id)
    # EUR: matched by hand, partly matched by the engine, suggested, unmatched, ignored,
    # matched then reversed (unmatched again), and a debit that is no credit at all.
    inv_a = seed.invoice("A", amount_due=10_000)
    _manual(api, seed.transaction(10_000), inv_a, 10_000)
    inv_x = seed.invoice("X", amount_due=8_000)
    _auto(session, tenant.tenant_id, seed.transaction(5_000), [(inv_x, 2_000)])
    inv_c = seed.invoice("C", amount_due=3_000)
    suggested = seed.transaction(3_000, match_status="suggested")
    seed.suggestion(suggested, [(inv_c, 3_000)])
    seed.transaction(1_000)
    seed.transaction(700, match_status="ignored")
    inv_g = seed.invoice("G", amount_due=800)
    reversed_id = _manual(api, seed.transaction(800), inv_g, 800)
    assert api.delete(f"reconciliation/matches/{reversed_id}").status_code == 200
    seed.transaction(-4_000)
    seed.invoice("V", amount_due=999, status="void", voided_at=utcnow())
    # USD: one credit matched by the engine.
    inv_f = seed.invoice("F", amount_due=2_500, currency="USD")
    _auto(session, tenant.tenant_id, seed.transaction(2_500, currency="USD"), [(inv_f, 2_500)])
    # Another tenant: a credit, an open invoice, a suggestion and an auto match.
    other = Seed(session, other_tenant.tenant_id)
    other_inv = other.invoice("O", amount_due=50_000, currency="GBP")
    other_txn = other.transaction(50_000, currency="GBP")
    other.suggestion(other_txn, [(other_inv, 50_000)])
    _auto(session, other_tenant.tenant_id, other.transaction(70, currency="GBP"), [(other_inv, 70)])
    other.invoice("P", amount_due=1)


def test_the_summary_counts_every_state_per_currency(api, books):
    body = api.get("reconciliation").json
    assert body["credit_count"] == 7
    assert body["credits"] == [
        {
            "currency": "EUR",
            "count": 6,
            "amount": 20_500,
            "amount_display": "205.00",
            "amount_allocated": 12_000,
            "amount_allocated_display": "120.00",
            "amount_unallocated": 8_500,
            "amount_unallocated_display": "85.00",
            "matched": part(1, 10_000, "100.00"),
            "partially_matched": part(1, 5_000, "50.00"),
            "suggested": part(1, 3_000, "30.00"),
            "unmatched": part(2, 1_800, "18.00"),
            "ignored": part(1, 700, "7.00"),
        },
        {
            "currency": "USD",
            "count": 1,
            "amount": 2_500,
            "amount_display": "25.00",
            "amount_allocated": 2_500,
            "amount_allocated_display": "25.00",
            "amount_unallocated": 0,
            "amount_unallocated_display": "0.00",
            "matched": part(1, 2_500, "25.00"),
            "partially_matched": ZERO,
            "suggested": ZERO,
            "unmatched": ZERO,
            "ignored": ZERO,
        },
    ]
    assert body["matches"] == {
        "active": 3,
        "auto": 2,
        "manual": 1,
        "suggestion": 0,
        "stripe": 0,
        "reversed": 1,
    }
    assert body["auto_match_rate"] == pytest.approx(2 / 3, abs=1e-4)
    # Two of the six credits that are not ignored carry a live auto match.
    assert body["auto_matched_credit_rate"] == pytest.approx(2 / 6, abs=1e-4)
    assert body["open_suggestions"] == 1
    assert body["open_invoice_count"] == 3
    assert body["open_invoices"] == [
        {
            "currency": "EUR",
            "count": 3,
            "amount_remaining": 9_800,
            "amount_remaining_display": "98.00",
            "open": part(2, 3_800, "38.00"),
            "partially_paid": part(1, 6_000, "60.00"),
        }
    ]


def test_the_summary_follows_a_reversal(api, session, tenant):
    seed = Seed(session, tenant.tenant_id)
    invoice = seed.invoice("A", amount_due=10_000)
    match_id = _manual(api, seed.transaction(10_000), invoice, 10_000)
    before = api.get("reconciliation").json
    assert before["credits"][0]["matched"] == part(1, 10_000, "100.00")
    assert before["open_invoice_count"] == 0
    api.delete(f"reconciliation/matches/{match_id}")
    after = api.get("reconciliation").json
    assert after["credits"][0]["matched"] == ZERO
    assert after["credits"][0]["unmatched"] == part(1, 10_000, "100.00")
    assert after["matches"]["active"] == 0 and after["matches"]["reversed"] == 1
    assert after["auto_match_rate"] is None
    assert after["open_invoices"][0]["open"] == part(1, 10_000, "100.00")
    with tenant_scope(tenant.tenant_id):
        assert session.get(Invoice, invoice).status == "open"


def test_another_tenant_sees_only_its_own_summary(other_api, books):
    body = other_api.get("reconciliation").json
    assert body["credit_count"] == 2
    assert [c["currency"] for c in body["credits"]] == ["GBP"]
    assert body["credits"][0]["amount"] == 50_070
    assert body["matches"]["active"] == body["matches"]["auto"] == 1
    assert body["auto_match_rate"] == 1.0
    assert body["auto_matched_credit_rate"] == 0.5
    assert body["open_suggestions"] == 1
    assert body["open_invoice_count"] == 2
    by_currency = {row["currency"]: row for row in body["open_invoices"]}
    assert by_currency["GBP"]["partially_paid"] == part(1, 49_930, "499.30")
    assert by_currency["EUR"]["open"] == part(1, 1, "0.01")


def test_the_summary_takes_no_parameters(api):
    response = api.get("reconciliation", query_string={"currency": "EUR"})
    assert response.status_code == 400
    assert response.json["error"]["param"] == "currency"
