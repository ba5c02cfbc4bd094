"""Dedupe keys shared by statement import and bank sync."""

from __future__ import annotations

import datetime as dt
import hashlib

import pytest

from payymo.services import dedupe


def coffee(**overrides) -> dict:
    row = {
        "booking_date": dt.date(2026, 3, 2),
        "value_date": dt.date(2026, 3, 2),
        "amount": -350,
        "currency": "EUR",
        "counterparty_name": "Café Central",
        "counterparty_iban": None,
        "remittance_information": "Card payment 02.03",
        "end_to_end_id": None,
    }
    row.update(overrides)
    return row


def test_id_wins_over_content():
    keys = dedupe.dedupe_keys([coffee(id="tx-1"), coffee(id="tx-1", amount=-999)])
    assert keys == ["id:tx-1", "id:tx-1"]


def test_id_is_trimmed_but_case_sensitive():
    assert dedupe.dedupe_keys([coffee(id="  AbC  ")]) == ["id:AbC"]
    assert dedupe.dedupe_keys([coffee(id="abc")]) != dedupe.dedupe_keys([coffee(id="ABC")])


@pytest.mark.parametrize("blank", [None, "", "   "])
def test_blank_id_falls_back_to_content(blank):
    [key] = dedupe.dedupe_keys([coffee(id=blank)])
    assert key == f"h:{dedupe.content_hash(coffee())}:1"


def test_identical_content_in_one_batch_gets_occurrence_numbers():
    keys = dedupe.dedupe_keys([coffee(), coffee(), coffee(amount=-400), coffee()])
    digest = dedupe.content_hash(coffee())
    other = dedupe.content_hash(coffee(amount=-400))
    assert keys == [f"h:{digest}:1", f"h:{digest}:2", f"h:{other}:1", f"h:{digest}:3"]


def test_same_statement_twice_gives_same_keys():
    statement = [coffee(), coffee(), coffee(id="x"), coffee(counterparty_name="Bakery")]
    assert dedupe.dedupe_keys(statement) == dedupe.dedupe_keys([dict(r) for r in statement])


def test_rows_with_ids_do_not_count_as_occurrences():
    keys = dedupe.dedupe_keys([coffee(id="a"), coffee()])
    assert keys[1].endswith(":1")


def test_occurrence_restarts_per_batch():
    first = dedupe.dedupe_keys([coffee(), coffee()])
    second = dedupe.dedupe_keys([coffee()])
    assert second == first[:1]


def test_name_and_remittance_are_casefolded_and_whitespace_collapsed():
    base = dedupe.content_hash(coffee())
    assert (
        dedupe.content_hash(
            coffee(
                counterparty_name="  CAFÉ \t  central ",
                remittance_information="card   PAYMENT\n02.03",
            )
        )
        == base
    )


def test_unicode_forms_are_equivalent():
    composed = coffee(counterparty_name="Caf\u00e9 Central")
    decomposed = coffee(counterparty_name="Cafe\u0301 Central")
    assert dedupe.content_hash(composed) == dedupe.content_hash(decomposed)


def test_iban_and_currency_are_compacted_and_upper_cased():
    plain = coffee(counterparty_iban="DE89370400440532013000")
    spaced = coffee(counterparty_iban="de89 3704 0044 0532 0130 00", currency="eur")
    assert dedupe.content_hash(plain) == dedupe.content_hash(spaced)


def test_dates_as_strings_or_dates_agree():
    as_text = coffee(booking_date="2026-03-02", value_date=" 2026-03-02 ")
    assert dedupe.content_hash(as_text) == dedupe.content_hash(coffee())
    as_datetime = coffee(booking_date=dt.datetime(2026, 3, 2, 14, 5, tzinfo=dt.UTC))
    assert dedupe.content_hash(as_datetime) == dedupe.content_hash(coffee())


def test_missing_optional_fields_equal_none_and_empty():
    sparse = {"booking_date": "2026-03-02", "amount": -350, "currency": "EUR"}
    explicit = dict(
        sparse,
        value_date=None,
        counterparty_name="",
        counterparty_iban=None,
        remittance_information=None,
        end_to_end_id="",
    )
    assert dedupe.content_hash(sparse) == dedupe.content_hash(explicit)


@pytest.mark.parametrize("placeholder", ["NOTPROVIDED", "notprovided", " NotProvided "])
def test_sepa_placeholder_end_to_end_id_equals_none(placeholder):
    assert dedupe.content_hash(coffee(end_to_end_id=placeholder)) == dedupe.content_hash(coffee())


@pytest.mark.parametrize(
    "change",
    [
        {"booking_date": dt.date(2026, 3, 3)},
        {"value_date": dt.date(2026, 3, 3)},
        {"value_date": None},
        {"amount": 350},
        {"amount": -351},
        {"currency": "USD"},
        {"counterparty_name": "Café Zentral"},
        {"counterparty_iban": "DE89370400440532013000"},
        {"remittance_information": "Card payment 03.03"},
        {"end_to_end_id": "E2E-1"},
    ],
)
def test_every_content_field_counts(change):
    assert dedupe.content_hash(coffee(**change)) != dedupe.content_hash(coffee())


def test_fields_do_not_bleed_into_each_other():
    # Moving text between fields must change the hash (no plain concatenation).
    a = coffee(counterparty_name="ab", remittance_information="c")
    b = coffee(counterparty_name="a", remittance_information="bc")
    assert dedupe.content_hash(a) != dedupe.content_hash(b)


def test_fields_outside_content_are_ignored():
    assert dedupe.content_hash(coffee(category="food", notes="x", status="pending")) == (
        dedupe.content_hash(coffee())
    )


def test_hash_is_sha256_hex():
    digest = dedupe.content_hash(coffee())
    assert len(digest) == 64
    int(digest, 16)


@pytest.mark.parametrize("amount", [3.5, -350.0, "350", True, None])
def test_amount_must_be_integer_minor_units(amount):
    with pytest.raises(TypeError):
        dedupe.content_hash(coffee(amount=amount))


def test_invalid_date_raises():
    with pytest.raises(ValueError):
        dedupe.content_hash(coffee(booking_date="2026-02-30"))
    with pytest.raises(TypeError):
        dedupe.content_hash(coffee(booking_date=20260302))


def test_non_text_fields_raise():
    with pytest.raises(TypeError):
        dedupe.content_hash(coffee(counterparty_name=42))
    with pytest.raises(TypeError):
        dedupe.dedupe_keys([coffee(id=42)])


def test_keys_fit_the_column():
    longest_id = "x" * (dedupe.KEY_MAX_LENGTH - len("id:"))
    assert dedupe.id_key(longest_id) == "id:" + longest_id
    too_long = longest_id + "y"
    key = dedupe.id_key(too_long)
    assert key == "idh:" + hashlib.sha256(too_long.encode()).hexdigest()
    assert len(key) <= dedupe.KEY_MAX_LENGTH
    assert dedupe.id_key(too_long + "z") != key
    content_key = dedupe.hash_key("f" * 64, 10**9)
    assert len(content_key) <= dedupe.KEY_MAX_LENGTH


def test_long_id_hash_cannot_collide_with_a_short_id():
    too_long = "x" * 200
    digest = hashlib.sha256(too_long.encode()).hexdigest()
    assert dedupe.id_key(too_long) != dedupe.id_key(digest)


def test_occurrence_counts_from_one():
    with pytest.raises(ValueError):
        dedupe.hash_key("f" * 64, 0)


def test_normalise_text():
    assert dedupe.normalise_text(None) == ""
    assert dedupe.normalise_text("  Straße\u00a0 MÜLLER\n") == "strasse müller"


def test_empty_batch():
    assert dedupe.dedupe_keys([]) == []
