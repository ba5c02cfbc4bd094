"""Splitting a run by currency: balanced parts that decide exactly what one engine does."""

from __future__ import annotations

from benchmarks.matching_data import generate
from payymo.matching.engine import reconcile
from payymo.matching.partition import by_currency
from tests.matching.factories import invoice, txn


def _txns(counts: dict[str, int]):
    return [
        txn(f"t_{currency}_{i}", 100 + i, currency=currency)
        for currency, n in counts.items()
        for i in range(n)
    ]


def test_currencies_are_packed_largest_first_into_the_lightest_part():
    transactions = _txns({"USD": 2, "EUR": 5, "CHF": 1, "GBP": 3})
    parts = by_currency(transactions, [], 2)
    assert [p.currencies for p in parts] == [{"EUR", "CHF"}, {"GBP", "USD"}]
    assert [len(p.transactions) for p in parts] == [6, 5]


def test_positions_point_back_into_the_run_in_input_order():
    transactions = _txns({"EUR": 3, "GBP": 2}) + _txns({"CHF": 1})
    invoices = [invoice("i1", "INV-1", 100, currency="GBP"), invoice("i2", "INV-2", 5)]
    for part in by_currency(transactions, invoices, 3):
        assert list(part.positions) == sorted(part.positions)
        assert [transactions[p] for p in part.positions] == list(part.transactions)
        assert {t.currency for t in part.transactions} == part.currencies
        assert all(v.currency in part.currencies for v in part.invoices)
    covered = sorted(p for part in by_currency(transactions, invoices, 3) for p in part.positions)
    assert covered == list(range(len(transactions)))


def test_no_empty_parts_and_one_part_holds_everything():
    transactions = _txns({"EUR": 4})
    invoices = [invoice("i1", "INV-1", 100), invoice("i2", "INV-2", 100, currency="JPY")]
    (only,) = by_currency(transactions, invoices, 4)
    assert only.currencies == {"EUR"} and [v.id for v in only.invoices] == ["i1"]
    assert by_currency([], invoices, 2) == []
    (whole,) = by_currency(_txns({"EUR": 1, "GBP": 1}), invoices, 1)
    assert whole.currencies == {"EUR", "GBP"}


def test_the_parts_decide_exactly_what_one_engine_decides():
    data = generate(3, 1200, 4000)
    args = dict(settings=data.settings, memory=data.memory)
    whole = reconcile(data.transactions, data.invoices, **args)
    parts = by_currency(data.transactions, data.invoices, 3)
    assert len(parts) == 3
    combined = [None] * len(data.transactions)
    for part in parts:
        for position, decision in zip(
            part.positions, reconcile(part.transactions, part.invoices, **args), strict=True
        ):
            combined[position] = decision
    assert combined == whole
    assert sum(1 for d in whole if d.auto) > 300  # the comparison covers real matches
