"""A one-character slip in a reference, and an exact reference that everything else contradicts."""

from __future__ import annotations

import datetime as dt

import pytest

from payymo.matching.references import near_core, one_edit_apart
from tests.matching.factories import DAY, invoice, run, txn

INITECH = "Initech Ltd"
DAY_EARLY = DAY - dt.timedelta(days=20)


def _codes(candidate) -> list[str]:
    return [r.code for r in candidate.reasons]


@pytest.mark.parametrize(
    ("written", "number"),
    [
        ("INV-01235", "INV-01234"),  # one digit changed
        ("INV-01243", "INV-01234"),  # two digits swapped
        ("INV-1234", "INV-10234"),  # one dropped
        ("INV-102345", "INV-10234"),  # one added
    ],
)
def test_a_slip_names_the_payer_s_invoice_of_this_amount_first(written, number):
    invoices = [
        invoice("right", number, 50_000, INITECH),
        invoice("other", "INV-55555", 12_000, "Globex"),
    ]
    decision = run([txn("t", 50_000, f"Payment {written}", "INITECH LTD")], invoices)["t"]
    assert decision.auto is None  # a slip is never enough to confirm
    first = decision.suggestions[0]
    assert first.invoice_ids == ("right",)
    assert "reference_near" in _codes(first)
    near = next(r for r in first.reasons if r.code == "reference_near")
    assert near.text.endswith(f"is one character from invoice {number}")


def test_the_invoice_the_slip_names_loses_to_the_payer_s_invoice():
    invoices = [
        invoice("right", "INV-01234", 50_000, INITECH),
        invoice("slipped", "INV-01235", 12_000, "Globex Corporation"),
    ]
    decision = run([txn("t", 50_000, "INV-01235", "INITECH LTD")], invoices)["t"]
    ranked = [c.invoice_ids[0] for c in decision.suggestions]
    assert ranked[0] == "right"
    slipped = next((c for c in decision.suggestions if c.invoice_ids == ("slipped",)), None)
    if slipped is not None:
        assert "reference_doubtful" in _codes(slipped)
        assert slipped.score < decision.suggestions[0].score
    assert "reference_other" not in _codes(decision.suggestions[0])


def test_a_slip_counts_only_with_the_payer_and_the_exact_amount():
    invoices = [invoice("right", "INV-01234", 50_000, INITECH)]
    stranger = run([txn("t", 50_000, "INV-01235", "Someone Else GmbH")], invoices)["t"]
    short = run([txn("t", 40_000, "INV-01235", "INITECH LTD")], invoices)["t"]
    for decision in (stranger, short):
        assert all("reference_near" not in _codes(c) for c in decision.suggestions)


def test_an_exact_reference_the_payer_and_amount_agree_with_is_not_doubted():
    invoices = [invoice("named", "INV-01235", 50_000, INITECH)]
    decision = run([txn("t", 50_000, "INV-01235", "INITECH LTD")], invoices)["t"]
    assert decision.auto is not None
    assert "reference_doubtful" not in _codes(decision.auto)


def test_without_a_rival_an_odd_exact_reference_keeps_its_weight():
    invoices = [invoice("named", "INV-01235", 12_000, "Globex Corporation")]
    decision = run([txn("t", 50_000, "INV-01235", "INITECH LTD")], invoices)["t"]
    assert all("reference_doubtful" not in _codes(c) for c in decision.suggestions)


@pytest.mark.parametrize(
    ("a", "b", "apart"),
    [("1234", "1235", True), ("1234", "1243", True), ("1234", "12345", True),
     ("1234", "1234", False), ("1234", "1256", False), ("1234", "123456", False)],
)  # fmt: skip
def test_one_edit_apart(a, b, apart):
    assert one_edit_apart(a, b) is apart


def test_short_or_unspecific_numbers_never_count_as_slips():
    assert not near_core("123")
    assert not near_core("2024")  # a year
    assert near_core("1234") and near_core("2024-25414")


@pytest.mark.parametrize(
    ("payer", "text"),
    [
        ("Initech Ltd", "payer name is the customer's"),
        ("INITECH", "payer name matches the customer (legal form, case and word order ignored)"),
        ("Initek Ltd", "payer name is close to the customer's (77 % similar)"),
    ],
)
def test_payer_name_reasons_say_what_they_mean(payer, text):
    decision = run(
        [txn("t", 50_000, "thanks", payer)], [invoice("i", "INV-01234", 50_000, INITECH)]
    )
    reasons = [r.text for r in decision["t"].suggestions[0].reasons if r.code == "payer_name"]
    assert reasons == [text]


@pytest.mark.parametrize(
    "payer", ["SMITH J", "J. Smith", "Smith, John", "MR J SMITH", "SMITH JOHN"]
)
def test_a_sole_trader_is_found_however_the_bank_writes_the_name(payer):
    invoices = [
        invoice("smith", "INV-01234", 7_500, "John Smith"),
        invoice("other", "INV-01999", 7_500, "Nordic Timber AG"),
    ]
    decision = run([txn("t", 7_500, "Payment", payer)], invoices)["t"]
    assert decision.suggestions[0].invoice_ids == ("smith",)
    assert "payer_name" in _codes(decision.suggestions[0])


def test_a_rest_another_invoice_of_the_customer_owes_is_left_to_a_person():
    invoices = [
        invoice("named", "INV-25068", 19_536, INITECH),
        invoice("unread", "INV-2021", 6_360, INITECH),  # "2021" reads as a year
    ]
    decision = run([txn("t", 25_896, "your 2021 & Invoice 25068", "INITECH LTD")], invoices)["t"]
    assert decision.auto is None
    assert decision.suggestions[0].invoice_ids[0] in ("named", "unread")


def test_another_customer_s_invoice_of_this_amount_is_not_confirmed_when_the_payer_owes_it_too():
    invoices = [
        invoice("named", "INV-48133", 49_900, "Wolf Shipping GmbH"),
        invoice("payer_s", "INV-46133", 49_900, "Valley Telecom LLC"),
    ]
    decision = run([txn("t", 49_900, "Invoice 48133", "Valley Telecom LLC")], invoices)["t"]
    assert decision.auto is None
    assert decision.suggestions[0].invoice_ids == ("payer_s",)
    named = next(c for c in decision.suggestions if c.invoice_ids == ("named",))
    assert "reference_doubtful" in _codes(named)


def test_a_slip_never_tips_a_known_payer_into_an_automatic_match():
    from payymo.matching.types import PayerMemory
    from tests.matching.factories import key

    iban = "DE89370400440532013000"
    memory = PayerMemory(by_iban={iban: frozenset({key(INITECH)})})
    invoices = [invoice("right", "INV-01234", 50_000, INITECH)]
    credit = txn("t", 50_000, "Order 01235", "Someone Paying Ltd", iban=iban)
    decision = run([credit], invoices, memory=memory)["t"]
    assert decision.auto is None
    assert "reference_near" in _codes(decision.suggestions[0])
    assert decision.suggestions[0].score >= 0.9  # enough, but for the slip


def test_another_initial_of_the_same_surname_is_not_the_customer():
    invoices = [
        invoice("anna", "INV-01234", 10_000, "Anna Martin", due=DAY_EARLY),
        invoice("peter", "INV-01999", 10_000, "Peter Martin"),
    ]
    decision = run([txn("t", 10_000, "Monthly payment", "P Martin")], invoices)["t"]
    assert decision.suggestions[0].invoice_ids == ("peter",)
    anna = next((c for c in decision.suggestions if c.invoice_ids == ("anna",)), None)
    assert anna is None or "payer_name" not in _codes(anna)
