"""reconcile(): auto-confirm rules, suggestions, allocations and isolation."""

from __future__ import annotations

import dataclasses
import datetime as dt

from payymo.matching.types import MatchSettings, PayerMemory
from tests.matching.factories import DAY, codes, invoice, key, run, txn

IBAN = "DE89370400440532013000"


def test_reference_and_exact_amount_auto_match_with_reasons():
    invoices = [invoice("i1", "INV-1042", 12000), invoice("i2", "INV-1043", 5000)]
    decision = run([txn("t", 12000, "Payment for INV 1042, thanks")], invoices)["t"]
    auto = decision.auto
    assert auto is not None and auto.allocations == (("i1", 12000),)
    assert auto.score >= 0.9
    assert {"reference_exact", "amount_exact", "payer_name", "date_in_window"} <= codes(auto)
    texts = [r.text for r in auto.reasons]
    assert "INV-1042 found in remittance" in texts
    assert "payer name is the customer's" in texts
    assert decision.suggestions == ()


def test_amount_and_name_alone_never_auto_confirm():
    invoices = [invoice("i1", "INV-1042", 12000)]
    decision = run([txn("t", 12000, "Thank you")], invoices)["t"]
    assert decision.auto is None
    top = decision.suggestions[0]
    assert top.invoice_ids == ("i1",)
    assert {"amount_exact", "payer_name"} <= codes(top)
    assert top.score < 0.9


def test_known_payer_iban_with_exact_amount_auto_confirms():
    invoices = [invoice("i1", "INV-1042", 12000)]
    memory = PayerMemory(by_iban={IBAN: frozenset({key("Acme Widgets Ltd")})})
    spaced = " ".join(IBAN[i : i + 4] for i in range(0, len(IBAN), 4)).lower()
    decision = run([txn("t", 12000, "Thank you", iban=spaced)], invoices, memory=memory)["t"]
    assert decision.auto is not None and decision.auto.invoice_ids == ("i1",)
    assert "payer_iban_known" in codes(decision.auto)


def test_learned_payer_name_points_at_the_customer():
    invoices = [invoice("i1", None, 12000, "Acme Widgets Ltd")]
    memory = PayerMemory(by_name={"globex holdings": frozenset({key("Acme Widgets Ltd")})})
    decision = run([txn("t", 12000, "", payer="GLOBEX HOLDINGS")], invoices, memory=memory)["t"]
    assert decision.auto is None  # a learned name is not a reference
    assert decision.suggestions[0].invoice_ids == ("i1",)
    assert "payer_name_known" in codes(decision.suggestions[0])


def test_different_customers_owing_the_same_amount_are_not_auto_matched():
    invoices = [
        invoice("a", "INV-1", 9900, "Acme Widgets Ltd"),
        invoice("b", "INV-2", 9900, "Acme Widgets GmbH"),
    ]
    decision = run([txn("t", 9900, "Monthly fee", payer="ACME WIDGETS")], invoices)["t"]
    assert decision.auto is None
    assert {s.invoice_ids for s in decision.suggestions} == {("a",), ("b",)}


def test_threshold_blocks_auto_confirm():
    invoices = [invoice("i1", "INV-1042", 12000)]
    late = txn("t", 12000, "INV-1042", payer="Someone Else", day=DAY + dt.timedelta(days=90))
    assert run([late], invoices)["t"].auto.score == 0.9  # reference + amount - late
    strict = run([late], invoices, settings=MatchSettings(threshold=0.95))["t"]
    assert strict.auto is None
    assert strict.suggestions[0].invoice_ids == ("i1",)
    assert "date_out_of_window" in codes(strict.suggestions[0])


def test_margin_blocks_auto_confirm_when_the_runner_up_is_close():
    # Both invoices are named and both could be paid: an ambiguous line.
    invoices = [invoice("a", "INV-1042", 12000), invoice("b", "INV-1043", 12000)]
    decision = run([txn("t", 12000, "INV-1042 INV-1043")], invoices)["t"]
    assert decision.auto is None
    assert len(decision.suggestions) >= 2
    wide = MatchSettings(margin=0.0)
    assert run([txn("t", 12000, "INV-1042 INV-1043")], invoices, settings=wide)["t"].auto


def test_disabled_auto_match_only_suggests():
    invoices = [invoice("i1", "INV-1042", 12000)]
    settings = MatchSettings(auto_match_enabled=False)
    decision = run([txn("t", 12000, "INV-1042")], invoices, settings=settings)["t"]
    assert decision.auto is None
    assert decision.suggestions[0].invoice_ids == ("i1",)
    assert decision.suggestions[0].score >= 0.9


def test_pending_transactions_only_get_suggestions_and_consume_nothing():
    invoices = [invoice("i1", "INV-1042", 12000)]
    decisions = run(
        [
            txn("pending", 12000, "INV-1042", booked=False, day=DAY),
            txn("booked", 12000, "INV-1042", day=DAY + dt.timedelta(days=1)),
        ],
        invoices,
    )
    assert decisions["pending"].auto is None
    assert decisions["pending"].suggestions[0].invoice_ids == ("i1",)
    assert decisions["booked"].auto is not None


def test_blocked_pairs_are_never_matched_nor_suggested():
    invoices = [invoice("i1", "INV-1042", 12000), invoice("i2", "INV-7", 12000)]
    blocked = frozenset({("t", "i1")})
    decision = run([txn("t", 12000, "INV-1042")], invoices, blocked=blocked)["t"]
    assert decision.auto is None or "i1" not in decision.auto.invoice_ids
    assert all("i1" not in s.invoice_ids for s in decision.suggestions)
    # another transaction may still take it
    other = run([txn("u", 12000, "INV-1042")], invoices, blocked=blocked)["u"]
    assert other.auto.invoice_ids == ("i1",)


def test_invoices_in_another_currency_are_never_candidates():
    invoices = [invoice("gbp", "INV-1042", 12000, currency="GBP")]
    decision = run([txn("t", 12000, "INV-1042", currency="EUR")], invoices)["t"]
    assert decision.auto is None and decision.suggestions == ()
    same = run([txn("t", 12000, "INV-1042", currency="GBP")], invoices)["t"]
    assert same.auto.invoice_ids == ("gbp",)


def test_two_payments_never_over_allocate_one_invoice_in_one_call():
    invoices = [invoice("i1", "INV-1042", 10000)]
    first = txn("b-late", 10000, "INV-1042", day=DAY + dt.timedelta(days=2))
    second = txn("a-early", 10000, "INV-1042", day=DAY)
    decisions = run([first, second], invoices)
    # the older booking is processed first and takes the invoice
    assert decisions["a-early"].auto.allocations == (("i1", 10000),)
    assert decisions["b-late"].auto is None
    assert all("i1" not in s.invoice_ids for s in decisions["b-late"].suggestions)


def test_split_payments_fill_an_invoice_without_exceeding_it():
    invoices = [invoice("i1", "INV-1042", 10000)]
    parts = [
        txn("p1", 6000, "INV-1042 part 1", day=DAY),
        txn("p2", 4000, "INV-1042 rest", day=DAY + dt.timedelta(days=5)),
        txn("p3", 4000, "INV-1042 again", day=DAY + dt.timedelta(days=9)),
    ]
    decisions = run(parts, invoices)
    assert decisions["p1"].auto.allocations == (("i1", 6000),)
    assert "amount_split" in codes(decisions["p1"].auto)  # p1 + p2 add up to the invoice
    assert decisions["p2"].auto.allocations == (("i1", 4000),)
    assert "amount_exact" in codes(decisions["p2"].auto)  # the open amount is now 4000
    assert decisions["p3"].auto is None


def test_instalments_without_reference_that_add_up_point_at_their_invoice():
    invoices = [
        invoice("older", "INV-1", 25000, due=DAY - dt.timedelta(days=30)),
        invoice("target", "INV-2", 10000),
    ]
    parts = [txn("p1", 6000, "Thanks", day=DAY), txn("p2", 4000, "", day=DAY + dt.timedelta(3))]
    decisions = run(parts, invoices)
    for tid in ("p1", "p2"):
        assert decisions[tid].auto is None  # no reference, no known IBAN
        top = decisions[tid].suggestions[0]
        assert top.invoice_ids == ("target",)
        assert "amount_split" in codes(top)
    # alone, an instalment goes to the oldest open invoice first
    alone = run([txn("p", 6000, "Thanks")], invoices)["p"]
    assert alone.suggestions[0].invoice_ids == ("older",)
    assert "amount_partial" in codes(alone.suggestions[0])


def test_overpayment_is_capped_at_the_open_amount():
    invoices = [invoice("i1", "INV-1042", 10000)]
    tolerant = MatchSettings(overpayment_tolerance=500)
    small = run([txn("t", 10300, "INV-1042")], invoices, settings=tolerant)["t"]
    assert small.auto.allocations == (("i1", 10000),)
    assert "amount_overpaid" in codes(small.auto)
    assert "within tolerance" in " ".join(r.text for r in small.auto.reasons)
    # far beyond the tolerance: suspicious, so a person decides; still capped
    big = run([txn("t", 15000, "INV-1042")], invoices)["t"]
    assert big.auto is None
    assert big.suggestions[0].allocations == (("i1", 10000),)  # 5000 stays unallocated
    assert any("rest stays unallocated" in r.text for r in big.suggestions[0].reasons)


def test_one_payment_for_several_named_invoices():
    invoices = [
        invoice("i1", "INV-1042", 10000, due=DAY - dt.timedelta(days=5)),
        invoice("i2", "INV-1043", 2500),
        invoice("i3", "INV-1044", 7000),
    ]
    decision = run([txn("t", 12500, "INV 1042/1043")], invoices)["t"]
    assert decision.auto.allocations == (("i1", 10000), ("i2", 2500))
    assert {"reference_exact", "amount_sum"} <= codes(decision.auto)


def test_one_payment_for_a_customers_oldest_invoices_is_found_by_amount():
    invoices = [
        invoice("old", "INV-1", 3000, due=DAY - dt.timedelta(days=20)),
        invoice("mid", "INV-2", 4500, due=DAY - dt.timedelta(days=10)),
        invoice("new", "INV-3", 9999),
        invoice("other", "INV-4", 7500, "Globex Corp"),
    ]
    memory = PayerMemory(by_iban={IBAN: frozenset({key("Acme Widgets Ltd")})})
    decision = run([txn("t", 7500, "Payment", iban=IBAN)], invoices, memory=memory)["t"]
    assert decision.auto is not None
    assert decision.auto.allocations == (("old", 3000), ("mid", 4500))
    assert "amount_sum" in codes(decision.auto)


def test_partial_payment_names_its_invoice():
    invoices = [invoice("i1", "INV-1042", 10000), invoice("i2", "INV-1043", 10000)]
    decision = run([txn("t", 4000, "instalment INV-1043")], invoices)["t"]
    assert decision.auto.allocations == (("i2", 4000),)
    assert "amount_partial" in codes(decision.auto)


def test_number_without_its_prefix_is_a_partial_reference():
    invoices = [invoice("i1", "INV-1042", 10000)]
    decision = run([txn("t", 10000, "payment 1042")], invoices)["t"]
    top = decision.auto or decision.suggestions[0]
    assert top.invoice_ids == ("i1",)
    assert "reference_partial" in codes(top)
    # a year is not an invoice number even when one shares its digits
    years = [invoice("y", "INV-2024", 77700)]
    assert (
        run([txn("t", 10000, "tax refund 2024", payer="Finanzamt")], years)["t"].suggestions == ()
    )


def test_suggestions_are_bounded_and_best_first():
    invoices = [invoice(f"i{n}", f"INV-{n}", 1000 + n) for n in range(10)]
    settings = MatchSettings(max_suggestions=2)
    decision = run([txn("t", 999, "Thanks")], invoices, settings=settings)["t"]
    assert decision.auto is None
    assert len(decision.suggestions) == 2
    confidences = [s.confidence for s in decision.suggestions]
    assert confidences == sorted(confidences, reverse=True)


def test_unrelated_credit_gets_nothing():
    invoices = [invoice("i1", "INV-1042", 10000)]
    decision = run([txn("t", 321, "Interest Q3", payer="Deutsche Bank AG")], invoices)["t"]
    assert decision.auto is None and decision.suggestions == ()


def test_one_decision_per_transaction_in_the_order_given_and_deterministic():
    invoices = [invoice(f"i{n}", f"INV-{n}", 1000 * (n + 1), f"Customer {n}") for n in range(20)]
    txns = [
        txn(f"t{n}", 1000 * (n + 1), f"INV-{n}", payer=f"Customer {n}", day=DAY - dt.timedelta(n))
        for n in range(20)
    ]
    settings, memory = MatchSettings(), PayerMemory()
    from payymo.matching.engine import reconcile

    first = reconcile(txns, invoices, settings=settings, memory=memory)
    assert [d.transaction_id for d in first] == [t.id for t in txns]
    again = reconcile(
        list(reversed(txns)), list(reversed(invoices)), settings=settings, memory=memory
    )
    assert {d.transaction_id: d for d in again} == {d.transaction_id: d for d in first}


def test_confidence_stays_in_range_and_settings_are_frozen():
    invoices = [invoice("i1", "INV-1042", 10000)]
    memory = PayerMemory(by_iban={IBAN: frozenset({key("Acme Widgets Ltd")})})
    decision = run([txn("t", 10000, "INV-1042", iban=IBAN)], invoices, memory=memory)["t"]
    assert decision.auto.score == 1.0
    assert dataclasses.is_dataclass(MatchSettings)


def test_a_credit_paying_another_invoice_exactly_is_no_instalment():
    # c1 pays "a" exactly; c1 + c2 happening to add up to "t" must not make c2 a part of "t"
    invoices = [
        invoice("a", "INV-1", 3000, due=DAY - dt.timedelta(days=5)),
        invoice("t", "INV-2", 10000),
    ]
    memory = PayerMemory(by_iban={IBAN: frozenset({key("Acme Widgets Ltd")})})
    credits = [
        txn("c1", 3000, "Thanks", iban=IBAN),
        txn("c2", 7000, "Advance payment", iban=IBAN, day=DAY + dt.timedelta(days=2)),
    ]
    decisions = run(credits, invoices, memory=memory)
    assert decisions["c1"].auto.allocations == (("a", 3000),)
    assert decisions["c2"].auto is None
    assert all("amount_split" not in codes(s) for s in decisions["c2"].suggestions)


def test_oldest_invoices_with_a_same_amount_twin_are_not_auto_matched():
    # 49900 + 18917: the oldest pair, or the newer 49900 invoice with the 18917 one
    invoices = [
        invoice("old1", "INV-1", 49900, due=DAY - dt.timedelta(days=100)),
        invoice("old2", "INV-2", 18917, due=DAY - dt.timedelta(days=98)),
        invoice("new", "INV-3", 49900),
    ]
    memory = PayerMemory(by_iban={IBAN: frozenset({key("Acme Widgets Ltd")})})
    decision = run([txn("t", 68817, "Thank you", iban=IBAN)], invoices, memory=memory)["t"]
    assert decision.auto is None
    offered = {frozenset(s.invoice_ids) for s in decision.suggestions}
    assert {frozenset({"old1", "old2"}), frozenset({"old2", "new"})} <= offered
