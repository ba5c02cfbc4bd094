"""apply_match / reverse_match: the invariants every amount change keeps."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from payymo.errors import InvalidRequest
from payymo.models import Allocation, Event, Invoice, Match, MatchBlock, Suggestion, Transaction
from payymo.services.allocations import apply_match, reverse_match
from payymo.tenancy import tenant_scope
from tests.reconciliation_helpers import Seed, count_rows


@pytest.fixture
def seed(session, tenant) -> Seed:
    return Seed(session, tenant.tenant_id)


def _apply(session, tenant, txn_id, lines, method="manual"):
    with tenant_scope(tenant.tenant_id):
        match = apply_match(
            session=session,
            transaction_id=txn_id,
            allocations=lines,
            method=method,
            created_by="pym_live_tester",
        )
        session.commit()
        return match.id


def _reverse(session, tenant, match_id):
    with tenant_scope(tenant.tenant_id):
        match = session.get(Match, match_id)
        reverse_match(session=session, match=match, reversed_by="pym_live_undoer")
        session.commit()


def _state(session, tenant, model, object_id):
    with tenant_scope(tenant.tenant_id):
        session.expire_all()
        return session.get(model, object_id)


def _live_sum(session, tenant, invoice_id) -> int:
    with tenant_scope(tenant.tenant_id):
        return session.scalar(
            select(func.coalesce(func.sum(Allocation.amount), 0)).where(
                Allocation.invoice_id == invoice_id, Allocation.status == "active"
            )
        )


def test_two_credits_pay_one_invoice_partially_then_fully_and_back_on_reversal(
    api, tenant, session, seed
):
    invoice = seed.invoice("ERP-1", amount_due=10_000)
    first = seed.transaction(4_000)
    second = seed.transaction(6_000)

    m1 = _apply(session, tenant, first, [(invoice, 4_000)])
    inv = _state(session, tenant, Invoice, invoice)
    assert (inv.status, inv.amount_paid) == ("partially_paid", 4_000)
    assert _state(session, tenant, Transaction, first).match_status == "matched"

    m2 = _apply(session, tenant, second, [(invoice, 6_000)])
    inv = _state(session, tenant, Invoice, invoice)
    assert (inv.status, inv.amount_paid) == ("paid", 10_000)
    assert inv.amount_paid == _live_sum(session, tenant, invoice)

    _reverse(session, tenant, m2)
    inv = _state(session, tenant, Invoice, invoice)
    assert (inv.status, inv.amount_paid) == ("partially_paid", 4_000)
    assert inv.amount_paid == _live_sum(session, tenant, invoice)
    txn = _state(session, tenant, Transaction, second)
    assert (txn.match_status, txn.amount_allocated) == ("unmatched", 0)

    _reverse(session, tenant, m1)
    inv = _state(session, tenant, Invoice, invoice)
    assert (inv.status, inv.amount_paid) == ("open", 0)
    assert _live_sum(session, tenant, invoice) == 0
    # History is kept: both matches and their lines are still there, reversed.
    assert count_rows(Match, status="reversed") == 2
    assert count_rows(Allocation, status="reversed") == 2
    assert count_rows(Allocation, status="active") == 0


def test_one_transaction_pays_several_invoices(api, tenant, session, seed):
    a = seed.invoice("ERP-A", amount_due=3_000)
    b = seed.invoice("ERP-B", amount_due=5_000)
    txn = seed.transaction(8_000)
    match_id = _apply(session, tenant, txn, [(a, 3_000), (b, 5_000)])
    match = _state(session, tenant, Match, match_id)
    assert match.amount == 8_000
    assert [(line.invoice_id, line.amount) for line in match.allocations] == [
        (a, 3_000),
        (b, 5_000),
    ]
    assert _state(session, tenant, Invoice, a).status == "paid"
    assert _state(session, tenant, Invoice, b).status == "paid"
    assert _state(session, tenant, Transaction, txn).match_status == "matched"


def test_a_partial_allocation_leaves_the_transaction_partially_matched(api, tenant, session, seed):
    invoice = seed.invoice("ERP-1", amount_due=10_000)
    txn = seed.transaction(10_000)
    _apply(session, tenant, txn, [(invoice, 2_500)])
    state = _state(session, tenant, Transaction, txn)
    assert (state.match_status, state.amount_allocated) == ("partially_matched", 2_500)


def test_overpayment_leaves_the_remainder_unallocated_and_visible(api, tenant, session, seed):
    invoice = seed.invoice("ERP-1", amount_due=12_300)
    txn = seed.transaction(15_000)
    with tenant_scope(tenant.tenant_id), pytest.raises(InvalidRequest) as exc:
        apply_match(
            session=session,
            transaction_id=txn,
            allocations=[(invoice, 15_000)],
            method="manual",
            created_by="pym_live_tester",
        )
    assert exc.value.param == "allocations[0].amount"
    session.rollback()
    _apply(session, tenant, txn, [(invoice, 12_300)])
    shown = api.get(f"transactions/{txn}").json
    assert shown["amount_allocated"] == 12_300
    assert shown["amount_unallocated"] == 2_700
    assert shown["match_status"] == "partially_matched"
    assert api.get(f"invoices/{invoice}").json["status"] == "paid"


def test_allocations_beyond_the_transaction_are_refused_and_write_nothing(
    api, tenant, session, seed
):
    a = seed.invoice("ERP-A", amount_due=5_000)
    b = seed.invoice("ERP-B", amount_due=5_000)
    txn = seed.transaction(6_000)
    with tenant_scope(tenant.tenant_id), pytest.raises(InvalidRequest) as exc:
        apply_match(
            session=session,
            transaction_id=txn,
            allocations=[(a, 5_000), (b, 5_000)],
            method="manual",
            created_by="pym_live_tester",
        )
    assert (exc.value.param, exc.value.code) == ("allocations", "amount_exceeds_transaction")
    session.rollback()
    assert count_rows(Match) == count_rows(Allocation) == 0
    assert _state(session, tenant, Invoice, a).amount_paid == 0


def test_reversal_blocks_the_pairs_and_is_idempotent(api, tenant, session, seed):
    a = seed.invoice("ERP-A", amount_due=3_000)
    b = seed.invoice("ERP-B", amount_due=5_000)
    txn = seed.transaction(8_000)
    match_id = _apply(session, tenant, txn, [(a, 3_000), (b, 5_000)])
    _reverse(session, tenant, match_id)
    with tenant_scope(tenant.tenant_id):
        blocks = {
            (blk.transaction_id, blk.invoice_id, blk.reason)
            for blk in session.scalars(select(MatchBlock))
        }
    assert blocks == {(txn, a, "reversed"), (txn, b, "reversed")}
    reversed_events = count_rows(Event, type="match.reversed")
    _reverse(session, tenant, match_id)
    assert count_rows(MatchBlock) == 2
    assert count_rows(Event, type="match.reversed") == reversed_events == 1
    assert _state(session, tenant, Invoice, b).amount_paid == 0
    assert _state(session, tenant, Transaction, txn).amount_allocated == 0


def test_events_describe_each_change(api, tenant, session, seed):
    invoice = seed.invoice("ERP-1", amount_due=10_000)
    first = seed.transaction(4_000)
    second = seed.transaction(6_000)
    before = count_rows(Event)
    m1 = _apply(session, tenant, first, [(invoice, 4_000)])
    _apply(session, tenant, second, [(invoice, 6_000)])
    _reverse(session, tenant, m1)
    with tenant_scope(tenant.tenant_id):
        rows = list(session.scalars(select(Event).order_by(Event.id)))[before:]
    assert [e.type for e in rows] == [
        "invoice.partially_paid",
        "transaction.matched",
        "invoice.paid",
        "transaction.matched",
        "invoice.partially_paid",
        "match.reversed",
    ]
    matched = rows[1].data["object"]
    assert matched["id"] == m1 and matched["transaction_id"] == first
    assert matched["allocations"] == [
        {
            "invoice_id": invoice,
            "invoice_number": "INV-1042",
            "customer_name": "Initech BV",
            "amount": 4_000,
            "amount_display": "40.00",
            "invoice_amount_remaining": 6_000,  # as this match left it
            "invoice_amount_remaining_display": "60.00",
            "charge": 0,
            "charge_display": "0.00",
        }
    ]
    assert rows[2].data["object"]["amount_paid"] == 10_000
    assert rows[2].data["previous_attributes"] == {
        "amount_paid": 4_000,
        "amount_paid_display": "40.00",
    }
    assert rows[5].data["object"]["status"] == "reversed"
    assert rows[5].data["object"]["reversed_by"] == "pym_live_undoer"


def test_a_full_match_expires_the_transactions_open_suggestions(api, tenant, session, seed):
    invoice = seed.invoice("ERP-1", amount_due=12_300)
    other = seed.invoice("ERP-2", amount_due=12_300)
    txn = seed.transaction(12_300)
    sug = seed.suggestion(txn, [(other, 12_300)])
    _apply(session, tenant, txn, [(invoice, 12_300)])
    state = _state(session, tenant, Suggestion, sug)
    assert state.status == "expired"
    assert state.decided_by == "pym_live_tester"
    assert state.decided_at is not None


def test_amount_paid_always_equals_the_live_allocations(api, tenant, session, seed):
    invoice = seed.invoice("ERP-1", amount_due=9_000)
    txns = [seed.transaction(3_000) for _ in range(3)]
    ids = [_apply(session, tenant, t, [(invoice, 3_000)]) for t in txns]
    for match_id in (ids[1], ids[0]):
        _reverse(session, tenant, match_id)
        inv = _state(session, tenant, Invoice, invoice)
        assert inv.amount_paid == _live_sum(session, tenant, invoice)
    again = _apply(session, tenant, txns[0], [(invoice, 3_000)])
    inv = _state(session, tenant, Invoice, invoice)
    assert inv.amount_paid == _live_sum(session, tenant, invoice) == 6_000
    assert inv.status == "partially_paid"
    assert again not in ids
