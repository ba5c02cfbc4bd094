"""The engine on generated messy data: safe automatic matches, same answers as naive."""

from __future__ import annotations

from benchmarks.matching_data import generate
from payymo.matching.engine import reconcile
from payymo.matching.naive import naive_reconcile


def test_generator_is_deterministic_per_seed():
    first, again, other = generate(7, 200, 600), generate(7, 200, 600), generate(8, 200, 600)
    assert first.transactions == again.transactions and first.truth == again.truth
    assert first.invoices == again.invoices
    assert first.transactions != other.transactions
    assert len(first.transactions) == 200 and len(first.invoices) == 600
    assert {inv.currency for inv in first.invoices} >= {"EUR", "GBP", "JPY"}
    assert any(not paid for paid in first.truth.values())  # unrelated credits exist


def test_engine_on_generated_data_is_precise_and_matches_most():
    data = generate(11, 1500, 6000)
    decisions = reconcile(
        data.transactions, data.invoices, settings=data.settings, memory=data.memory
    )
    autos = [d for d in decisions if d.auto]
    wrong = [d for d in autos if frozenset(d.auto.invoice_ids) != data.truth[d.transaction_id]]
    assert not wrong
    matchable = [t for t in data.transactions if t.booked and data.truth[t.id]]
    auto_ids = {d.transaction_id for d in autos}
    assert sum(t.id in auto_ids for t in matchable) >= 0.85 * len(matchable)
    opened = {inv.id: inv.open_amount for inv in data.invoices}
    for d in autos:  # never beyond an invoice's open amount, summed over the call
        for invoice_id, amount in d.auto.allocations:
            opened[invoice_id] -= amount
    assert min(opened.values()) >= 0


def test_naive_scorer_decides_like_the_engine():
    data = generate(5, 40, 800)
    args = dict(settings=data.settings, memory=data.memory)
    assert naive_reconcile(data.transactions, data.invoices, **args) == reconcile(
        data.transactions, data.invoices, **args
    )
