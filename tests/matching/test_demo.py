"""The demo tenant leaves a person real decisions: what the first run makes of its statement."""

from __future__ import annotations

import datetime as dt

import pytest

from payymo.demo import DEMO_INVOICES, DEMO_TRANSACTIONS
from payymo.matching.engine import reconcile
from payymo.matching.types import InvoiceIn, MatchSettings, PayerMemory, TxnIn

TODAY = dt.date(2026, 11, 28)


@pytest.fixture(scope="module")
def decided() -> dict[str, object]:
    """The engine's decision per remittance text, as `make run`'s first run makes them."""
    invoices = [
        InvoiceIn(
            id=number,
            number=number,
            customer_name=customer,
            customer_email=email,
            customer_reference=None,
            open_amount=amount,
            currency="GBP",
            issue_date=TODAY - dt.timedelta(days=age),
            due_date=TODAY - dt.timedelta(days=age - 30),
        )
        for number, customer, email, amount, age in DEMO_INVOICES
    ]
    credits = [
        TxnIn(f"txn-{i}", amount, "GBP", True, TODAY - dt.timedelta(days=age), payer, None, text)
        for i, (age, amount, payer, text) in enumerate(DEMO_TRANSACTIONS)
        if amount > 0
    ]
    decisions = reconcile(credits, invoices, settings=MatchSettings(), memory=PayerMemory())
    texts = {t.id: t.remittance for t in credits}
    return {texts[d.transaction_id]: d for d in decisions}


@pytest.mark.parametrize(
    ("text", "invoices"),
    [
        ("INV-1001", ("INV-1001",)),
        ("Payment INV-1002 thank you", ("INV-1002",)),
        ("INV-1004", ("INV-1004",)),
        ("INV-1006 INV-1012", ("INV-1006", "INV-1012")),
    ],
)
def test_plain_payments_are_matched_automatically(decided, text, invoices):
    auto = decided[text].auto
    assert auto is not None, decided[text]
    assert sorted(auto.invoice_ids) == sorted(invoices)


def test_the_partial_payment_goes_to_its_invoice(decided):
    decision = decided["Part payment INV-1005"]
    candidate = decision.auto or decision.suggestions[0]
    assert candidate.allocations == (("INV-1005", 40_000),)


@pytest.mark.parametrize(
    ("text", "first"),
    [
        ("Payment", "INV-1008"),  # no reference: amount and payer
        ("Invoice INV-1008", "INV-1009"),  # a near-miss: the slip names Soylent's invoice
    ],
)
def test_suggestions_are_left_to_a_person(decided, text, first):
    decision = decided[text]
    assert decision.auto is None
    assert decision.suggestions[0].invoice_ids == (first,)


def test_two_invoices_of_one_amount_are_both_offered(decided):
    decision = decided["Monthly payment"]
    assert decision.auto is None
    offered = {c.invoice_ids for c in decision.suggestions[:2]}
    assert offered == {("INV-1010",), ("INV-1011",)}


def test_the_unrelated_credit_is_left_unmatched(decided):
    decision = decided["Refund order 5531"]
    assert decision.auto is None and not decision.suggestions
