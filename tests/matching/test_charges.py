"""Bank charges and FX shortfalls: a named invoice paid less a likely charge."""

from __future__ import annotations

import dataclasses
import datetime as dt

import pytest

from benchmarks.matching_data import generate
from payymo.matching.charges import fixed_range, is_plausible_charge
from payymo.matching.engine import reconcile
from payymo.matching.naive import naive_reconcile
from payymo.matching.types import MatchSettings, PayerMemory
from tests.matching.factories import DAY, codes, invoice, key, run, txn


@pytest.mark.parametrize(
    ("short", "open_amount", "currency", "plausible"),
    [
        (1500, 100000, "EUR", True),  # 15.00 on 1000.00: a fixed fee
        (50, 1000, "EUR", True),  # 0.50 on 10.00, the smallest fixed fee
        (2500, 25000, "EUR", True),  # 25.00 on 250.00: a tenth
        (2501, 200000, "EUR", True),  # beyond 25.00 but within 2 % (FX)
        (4000, 200000, "EUR", True),  # exactly 2 %
        (4001, 200000, "EUR", False),  # just over 2 % and over 25.00
        (2000, 3000, "EUR", False),  # 20.00 of 30.00 is an instalment
        (2600, 26000, "EUR", False),  # a tenth, but over 25.00 and over 2 %
        (30, 10000, "EUR", True),  # 0.30 on 100.00: under 2 %
        (30, 1000, "EUR", False),  # 0.30 on 10.00: under 0.50 and over 2 %
        (0, 10000, "EUR", False),
        (25, 1000, "JPY", True),  # 25 yen: the top of the fixed range in yen
        (26, 1000, "JPY", False),
        (25000, 250000, "BHD", True),  # 25.000 BHD
        (199, 10000, "BHD", True),  # under 2 %
        (499, 4990, "BHD", False),  # under 0.500 BHD and over 2 %
    ],
)
def test_the_charge_rule_per_currency_exponent(short, open_amount, currency, plausible):
    assert is_plausible_charge(short, open_amount, currency) is plausible


def test_the_fixed_range_follows_the_exponent():
    assert fixed_range("EUR") == (50, 2500)
    assert fixed_range("JPY") == (1, 25)
    assert fixed_range("BHD") == (500, 25000)


def test_a_named_invoice_short_by_a_charge_is_a_full_payment_with_the_charge_shown():
    invoices = [invoice("i1", "INV-1042", 100000)]
    decision = run([txn("t", 98500, "INV-1042 international transfer")], invoices)["t"]
    auto = decision.auto
    assert auto is not None and auto.allocations == (("i1", 98500),)
    assert "amount_partial" not in codes(auto)
    texts = {r.code: r.text for r in auto.reasons}
    assert texts["amount_short_charge"].startswith("short by 15.00 EUR, a likely bank charge")
    assert "stays open" in texts["amount_short_charge"]
    assert auto.charges == ()  # no charge tolerance: the 15.00 stays open


def test_a_charge_needs_the_payer_to_agree_before_it_auto_matches():
    invoices = [invoice("i1", "INV-1042", 100000)]
    stranger = run([txn("t", 98500, "INV-1042", payer="Stripe Payments")], invoices)["t"]
    assert stranger.auto is None  # a reference and a near amount can be a coincidence
    top = stranger.suggestions[0]
    assert top.invoice_ids == ("i1",) and "amount_short_charge" in codes(top)
    full = run([txn("t", 100000, "INV-1042", payer="Stripe Payments")], invoices)["t"]
    assert full.auto is not None  # an exact amount is not
    customer = run([txn("t", 98500, "INV-1042", payer="ACME WIDGETS")], invoices)["t"]
    assert customer.auto is not None and customer.auto.invoice_ids == ("i1",)


def test_a_charge_outranks_a_real_partial_payment():
    invoices = [invoice("i1", "INV-1042", 100000), invoice("i2", "INV-1043", 160000)]
    decision = run([txn("t", 98500, "INV-1042 INV-1043", payer="Someone Else")], invoices)["t"]
    ranked = [c.invoice_ids for c in decision.suggestions]
    assert ranked[0] == ("i1",)  # short by 15.00, not a 61 % instalment of INV-1043


def test_within_the_charge_tolerance_the_charge_settles_the_invoice():
    invoices = [invoice("i1", "INV-1042", 100000)]
    settings = MatchSettings(charge_tolerance=2000)
    decision = run([txn("t", 98500, "INV-1042")], invoices, settings=settings)["t"]
    assert decision.auto.allocations == (("i1", 98500),)  # the money that came in
    assert decision.auto.charges == (("i1", 1500),)
    assert decision.auto.charge_for("i1") == 1500
    text = next(r.text for r in decision.auto.reasons if r.code == "amount_short_charge")
    assert "written off" in text


def test_a_charge_beyond_the_tolerance_is_a_partial_with_the_reason():
    invoices = [invoice("i1", "INV-1042", 100000)]
    settings = MatchSettings(charge_tolerance=1000)
    decision = run([txn("t", 98500, "INV-1042")], invoices, settings=settings)["t"]
    assert decision.auto.charges == ()
    assert "amount_short_charge" in codes(decision.auto)


def test_a_settled_invoice_is_not_paid_again_in_the_same_run():
    invoices = [invoice("i1", "INV-1042", 100000)]
    later = DAY + dt.timedelta(days=3)  # 10.00 more, which would not add up to a split
    credits = [txn("t1", 98500, "INV-1042"), txn("t2", 1000, "INV-1042", day=later)]
    settled = run(credits, invoices, settings=MatchSettings(charge_tolerance=2000))
    assert settled["t1"].auto.charges == (("i1", 1500),)
    assert settled["t2"].auto is None and settled["t2"].suggestions == ()
    left_open = run(credits, invoices)  # without a tolerance the 15.00 is still owed
    assert left_open["t2"].auto is not None
    assert left_open["t2"].auto.allocations == (("i1", 1000),)


def test_without_a_reference_a_short_amount_stays_a_partial():
    invoices = [invoice("i1", "INV-1042", 100000)]
    settings = MatchSettings(charge_tolerance=2000)
    decision = run([txn("t", 98500, "Thank you")], invoices, settings=settings)["t"]
    assert decision.auto is None
    top = decision.suggestions[0]
    assert "amount_short_charge" not in codes(top)
    assert top.charges == ()


def test_the_customer_reference_names_the_invoice_for_a_charge():
    customer = "Acme Widgets Ltd"
    invoices = [
        invoice("i1", "INV-1042", 100000, customer, reference="CUST-00042"),
        invoice("i2", "INV-1043", 50000, customer, reference="CUST-00042"),
    ]
    settings = MatchSettings(charge_tolerance=2000)
    decision = run([txn("t", 98800, "Customer CUST-00042")], invoices, settings=settings)["t"]
    auto = decision.auto
    assert auto is not None and auto.invoice_ids == ("i1",)
    assert {"reference_customer", "amount_short_charge"} <= codes(auto)
    assert auto.charges == (("i1", 1200),)


def test_an_exactly_paid_named_invoice_beats_a_named_one_short_by_a_charge():
    invoices = [invoice("i1", "INV-1042", 100000), invoice("i2", "INV-1043", 99000)]
    decision = run([txn("t", 99000, "INV-1042 INV-1043")], invoices)["t"]
    best = decision.auto or decision.suggestions[0]
    assert best.invoice_ids == ("i2",)


def test_a_charge_alone_never_auto_matches_without_a_reference_or_known_iban():
    invoices = [invoice("i1", "INV-1042", 100000)]
    memory = PayerMemory(by_name={"acme widgets": frozenset({key("Acme Widgets Ltd")})})
    settings = MatchSettings(charge_tolerance=5000)
    decision = run([txn("t", 98500, "Invoice payment")], invoices, settings, memory)["t"]
    assert decision.auto is None


def test_naive_and_engine_agree_on_charges_with_a_tolerance():
    data = generate(5, 60, 800)
    settings = dataclasses.replace(data.settings, charge_tolerance=2500)
    args = dict(settings=settings, memory=data.memory)
    engine = reconcile(data.transactions, data.invoices, **args)
    assert naive_reconcile(data.transactions, data.invoices, **args) == engine


def test_generated_charges_settle_without_paying_anything_twice():
    data = generate(13, 1500, 6000)
    settings = dataclasses.replace(data.settings, charge_tolerance=2500)
    decisions = reconcile(data.transactions, data.invoices, settings=settings, memory=data.memory)
    autos = [d.auto for d in decisions if d.auto]
    assert any(a.charges for a in autos)
    assert all(frozenset(a.invoice_ids) == data.truth[a.transaction_id] for a in autos)
    opened = {inv.id: inv.open_amount for inv in data.invoices}
    for auto in autos:
        for invoice_id, amount in auto.allocations:
            opened[invoice_id] -= amount + auto.charge_for(invoice_id)
        for invoice_id, _ in auto.charges:
            assert opened[invoice_id] == 0  # a charge settles the invoice exactly
    assert min(opened.values()) >= 0
