"""Money: currency exponents, exact parsing of provider strings, display strings."""

from __future__ import annotations

from decimal import Decimal

import pytest

from payymo import money


@pytest.mark.parametrize(("code", "places"), [("JPY", 0), ("EUR", 2), ("USD", 2), ("BHD", 3)])
def test_exponents_come_from_the_currency_table(code, places):
    assert money.exponent(code) == places


@pytest.mark.parametrize("code", ["XYZ", "eur", "EU", "EURO", "", "12A", None])
def test_unknown_or_malformed_currencies_are_rejected(code):
    assert money.is_currency(code) is False
    with pytest.raises(money.MoneyError):
        money.exponent(code)


@pytest.mark.parametrize(
    ("amount", "currency", "minor"),
    [
        ("-12.30", "EUR", -1230),
        ("12.3", "EUR", 1230),
        ("0", "EUR", 0),
        ("100", "JPY", 100),
        ("1.234", "BHD", 1234),
        ("-0.001", "BHD", -1),
        (Decimal("45.60"), "USD", 4560),
    ],
)
def test_to_minor_parses_exactly(amount, currency, minor):
    assert money.to_minor(amount, currency) == minor
    assert isinstance(money.to_minor(amount, currency), int)


@pytest.mark.parametrize(
    ("amount", "currency"),
    [
        ("1.234", "EUR"),  # more places than EUR has
        ("1.5", "JPY"),  # JPY has no minor unit
        ("0.0001", "BHD"),
        ("NaN", "EUR"),
        ("Infinity", "EUR"),
        ("-inf", "EUR"),
        ("1e400", "EUR"),
        ("12,30", "EUR"),
        ("twelve", "EUR"),
        ("", "EUR"),
        (str(10**13), "EUR"),  # 10**15 minor units: past the ceiling
        (str(-(10**20)), "EUR"),
        ("1.00", "XYZ"),
    ],
)
def test_to_minor_rejects_what_cannot_be_represented(amount, currency):
    with pytest.raises(money.MoneyError):
        money.to_minor(amount, currency)


def test_the_largest_allowed_amount_still_parses():
    assert money.to_minor("9999999999999.99", "EUR") == money.MAX_MINOR_UNITS - 1


@pytest.mark.parametrize(
    ("minor", "currency", "text"),
    [
        (1230, "EUR", "12.30"),
        (-1230, "EUR", "-12.30"),
        (5, "EUR", "0.05"),
        (-5, "EUR", "-0.05"),
        (0, "EUR", "0.00"),
        (-7, "JPY", "-7"),
        (-1, "BHD", "-0.001"),
        (1500, "JPY", "1500"),
        (1234, "BHD", "1.234"),
        (money.MAX_MINOR_UNITS - 1, "EUR", "9999999999999.99"),
    ],
)
def test_to_display(minor, currency, text):
    assert money.to_display(minor, currency) == text


@pytest.mark.parametrize(("text", "currency"), [("-12.30", "EUR"), ("7", "JPY"), ("0.125", "BHD")])
def test_display_and_parse_round_trip(text, currency):
    assert money.to_display(money.to_minor(text, currency), currency) == text


@pytest.mark.parametrize(
    ("value", "code"),
    [
        ("EUR", "EUR"),
        ("eur", "EUR"),
        ("Jpy", "JPY"),
        ("xyz", None),
        ("eur ", None),
        ("\u0131nr", None),  # a dotless i upper-cases to I: "INR" only by accident
        ("", None),
        (None, None),
        (978, None),
    ],
)
def test_currency_code_accepts_any_case_of_a_real_code(value, code):
    assert money.currency_code(value) == code
