"""CSV exports: presets, explicit mappings, encodings, decimals and bad rows."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest

from integrations.statements import CSV_PRESETS, StatementFileError, read_statement

SAMPLES = Path(__file__).parent / "samples"


def sample(name: str) -> bytes:
    return (SAMPLES / name).read_bytes()


def test_uk_preset():
    statement = read_statement(sample("uk.csv"), currency="gbp")
    assert (statement.format, statement.currency) == ("csv", "GBP")
    assert statement.opening_balance is None and statement.closing_balance is None
    first, second, third = statement.lines
    assert (first.where, first.booking_date, first.amount) == (
        "line 2",
        date(2024, 3, 4),
        Decimal("1234.56"),
    )
    assert first.remittance == "ACME LTD, INV-2024-0042"
    assert first.currency == "GBP"
    assert second.amount == Decimal("-12.30")
    assert third.booking_date == date(2024, 3, 6)  # ISO dates too
    assert third.amount == Decimal("-1250.00")
    assert first.value_date is None and first.line_id is None


def test_german_preset_in_windows_1252_with_preamble():
    statement = read_statement(sample("de_preset.csv"))
    assert statement.currency is None
    first, second, third = statement.lines
    assert first.where == "line 6"  # four preamble lines and the header come first
    assert first.remittance == "Überweisung Rechnung INV-2024-0042"
    assert first.counterparty_name == "Müller Maschinenbau GmbH"
    assert first.counterparty_iban == "DE02120300000000202051"
    assert first.amount == Decimal("1234.56")
    assert first.currency == "EUR"
    assert (second.booking_date, second.value_date) == (date(2024, 3, 4), date(2024, 3, 5))
    assert second.amount == Decimal("-89.90")
    assert third.booking_date == date(2024, 3, 6)  # dd.mm.yy
    assert third.remittance == "Erstattung Gebühr"
    assert third.counterparty_iban is None


def test_utf8_with_bom_and_trailing_blank_lines():
    statement = read_statement(sample("utf8_bom.csv"), currency="GBP")
    assert [(line.remittance, line.amount) for line in statement.lines] == [
        ("Café Nero \u2013 flat white", Decimal("-3.45")),
        ("Transfer from Zoë Smith", Decimal("200.00")),
    ]


def test_separate_debit_and_credit_columns():
    mapping = {
        "date": "Transaction Date",
        "counterparty_name": "Counterparty",
        "description": ["Reference", "Memo"],
        "debit": "Debit",
        "credit": "Credit",
        "date_format": "%Y-%m-%d",
    }
    statement = read_statement(sample("debit_credit.csv"), mapping=mapping, currency="EUR")
    assert [(line.amount, line.remittance) for line in statement.lines] == [
        (Decimal("1234.56"), "INV-2024-0042 March invoice"),
        (Decimal("-15.00"), "PO-7781 Paper"),
        (Decimal("-42.10"), "RENT-03"),  # a debit without a minus is still money out
    ]
    assert statement.lines[1].counterparty_name == "Office Supplies Co"


def test_explicit_mapping_with_formats():
    data = (
        "Valuta;Umsatz;Text;Ref\n"
        "01.02.2024;1.234,56;Miete Februar;R-1\n"
        "02.02.2024;12,30-;Gebühr;R-2\n"
    ).encode()
    mapping = {
        "date": "Valuta",
        "amount": "Umsatz",
        "remittance": "Text",
        "id": "Ref",
        "date_format": "%d.%m.%Y",
        "decimal": ",",
    }
    lines = read_statement(data, mapping=mapping, format="csv").lines
    assert [(line.booking_date, line.amount, line.line_id) for line in lines] == [
        (date(2024, 2, 1), Decimal("1234.56"), "R-1"),
        (date(2024, 2, 2), Decimal("-12.30"), "R-2"),
    ]


@pytest.mark.parametrize(
    ("body", "amount"),
    [
        (b"Date\tDescription\tAmount\n04/03/2024\tx\t1,234.56\n", Decimal("1234.56")),
        (b"Date|Description|Amount\n04/03/2024|x|-0.5\n", Decimal("-0.5")),
        (b"Date;Description;Amount\n04/03/2024;x;1.234\n", Decimal("1234")),
    ],
)
def test_delimiter_and_decimal_detection(body, amount):
    (line,) = read_statement(body).lines
    assert line.amount == amount


def test_comma_decimals_in_a_semicolon_file_without_quotes():
    # Split on "," these rows are more consistent than on ";": the header settles it.
    data = b"Date;Description;Amount;\n04/03/2024;x;1,50\n05/03/2024;y;2,50;\n06/03/2024;z;-3,50\n"
    lines = read_statement(data).lines
    assert [(line.remittance, line.amount) for line in lines] == [
        ("x", Decimal("1.50")),
        ("y", Decimal("2.50")),
        ("z", Decimal("-3.50")),
    ]


def test_bad_rows_are_line_errors():
    data = (
        b"Date,Description,Amount\n31/02/2024,x,1.00\n01/03/2024,y,abc\n"
        b"01/03/2024,short\n02/03/2024,z,-5.00\n\n\n"
    )
    lines = read_statement(data).lines
    assert [(line.where, line.error) for line in lines] == [
        ("line 2", "date '31/02/2024' is not a date (%d/%m/%Y or %Y-%m-%d)"),
        ("line 3", "amount 'abc' is not an amount"),
        ("line 4", "expected 3 columns, found 2"),
        ("line 5", None),
    ]
    assert lines[0].amount == Decimal("1.00")
    assert lines[3].amount == Decimal("-5.00")


def test_mapping_naming_a_missing_column():
    with pytest.raises(StatementFileError) as caught:
        read_statement(sample("uk.csv"), mapping={"date": "Date", "amount": "Umsatz"})
    assert caught.value.message == (
        "column 'Umsatz' (mapping key 'amount') is not in the header (line 1)"
    )
    assert caught.value.where == "mapping"  # the caller's mapping is what is wrong
    mapping = {"date": "Date", "amount": "Amount", "counterparty_iban": "IBAN"}
    with pytest.raises(StatementFileError, match="column 'IBAN'"):
        read_statement(sample("uk.csv"), mapping=mapping)


@pytest.mark.parametrize(
    ("mapping", "message"),
    [
        ({"date": "Date", "amount": "Amount", "colour": "x"}, "unknown CSV mapping key 'colour'"),
        ({"amount": "Amount"}, "a CSV mapping needs a 'date' column"),
        (
            {"date": "Date", "debit": "Amount"},
            "a CSV mapping needs either 'amount' or both 'debit' and 'credit'",
        ),
        (
            {"date": "Date", "amount": "Amount", "decimal": ";"},
            "CSV mapping 'decimal' must be ',' or '.'",
        ),
    ],
)
def test_invalid_mappings(mapping, message):
    with pytest.raises(StatementFileError) as caught:
        read_statement(sample("uk.csv"), mapping=mapping)
    assert (caught.value.message, caught.value.where) == (message, "mapping")


def test_csv_without_a_known_header():
    with pytest.raises(StatementFileError) as caught:
        read_statement(b"a,b,c\n1,2,3\n")
    assert caught.value.message.startswith("no header row with known columns")
    assert set(CSV_PRESETS) >= {"uk", "de"}
