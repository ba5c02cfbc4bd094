"""Which bank credit is a Stripe payout: the pure rules."""

from __future__ import annotations

import datetime as dt

from payymo.matching.payouts import CreditIn, PayoutIn, choose_credit, choose_credits

ARRIVAL = dt.date(2026, 11, 20)
PAYOUT = PayoutIn("spo_1", 119_403, "EUR", ARRIVAL, "TRACE4F2A9C1B7E")


def credit(
    txn_id="txn_1", amount=119_403, days=0, name="STRIPE PAYMENTS UK", text=None, **extra
) -> CreditIn:
    return CreditIn(
        id=txn_id,
        amount=amount,
        currency=extra.pop("currency", "EUR"),
        booking_date=ARRIVAL + dt.timedelta(days=days),
        counterparty_name=name,
        remittance_information=text,
        **extra,
    )


def test_the_credit_naming_stripe_for_the_exact_amount_on_the_arrival_date_is_the_payout():
    choice = choose_credit(PAYOUT, [credit()])
    assert (choice.transaction_id, choice.confidence) == ("txn_1", 0.95)
    assert [r.code for r in choice.reasons] == [
        "payout_amount_exact",
        "payout_stripe_named",
        "payout_date",
    ]
    assert choice.reasons[2].text == "Booked on the payout's arrival date."


def test_a_different_amount_currency_or_date_outside_the_window_is_not_it():
    assert choose_credit(PAYOUT, [credit(amount=119_402)]) is None
    assert choose_credit(PAYOUT, [credit(currency="GBP")]) is None
    assert choose_credit(PAYOUT, [credit(days=-3)]) is None
    assert choose_credit(PAYOUT, [credit(days=6)]) is None
    assert choose_credit(PAYOUT, [credit(days=-2)]).reasons[2].text == (
        "Booked 2 days before the payout's arrival date."
    )
    assert choose_credit(PAYOUT, [credit(days=5)]) is not None


def test_amount_and_date_alone_are_not_enough():
    # A customer paying the same sum that day must not be taken for the payout.
    assert choose_credit(PAYOUT, [credit(name="Globex Corporation", text="INV-1042")]) is None


def test_the_trace_id_decides_among_lines_that_all_name_stripe():
    lines = [
        credit("txn_a", text="STRIPE"),
        credit("txn_b", days=1, text="STRIPE trace4f2a 9c1b7e"),  # re-spaced, re-cased
    ]
    choice = choose_credit(PAYOUT, lines)
    assert (choice.transaction_id, choice.confidence) == ("txn_b", 0.99)
    assert choice.reasons[1].code == "payout_trace_id"


def test_the_trace_id_is_enough_without_stripe_named():
    line = credit(name="BANK GIRO CREDIT", end_to_end_id="TRACE4F2A9C1B7E")
    assert choose_credit(PAYOUT, [line]).confidence == 0.99


def test_two_lines_equally_near_are_left_for_a_person_the_nearer_one_is_taken():
    assert choose_credit(PAYOUT, [credit("txn_a", days=-1), credit("txn_b", days=1)]) is None
    chosen = choose_credit(PAYOUT, [credit("txn_a", days=0), credit("txn_b", days=1)])
    assert chosen.transaction_id == "txn_a"


def test_one_credit_is_never_given_to_two_payouts_and_refused_pairs_stay_apart():
    later = PayoutIn("spo_2", 119_403, "EUR", ARRIVAL + dt.timedelta(days=1), None)
    lines = [credit("txn_a", days=0), credit("txn_b", days=1)]
    chosen = choose_credits([later, PAYOUT], lines)
    assert [(c.payout_id, c.transaction_id) for c in chosen] == [
        ("spo_1", "txn_a"),
        ("spo_2", "txn_b"),
    ]
    refused = choose_credits([PAYOUT], lines, blocked={("spo_1", "txn_a")})
    assert [(c.payout_id, c.transaction_id) for c in refused] == [("spo_1", "txn_b")]
