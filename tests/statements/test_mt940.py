"""MT940: German structured :86:, reversals, the SWIFT envelope, broken lines and blocks."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest

from integrations.statements import Balance, StatementFileError, read_statement

SAMPLES = Path(__file__).parent / "samples"


def sample(name: str) -> bytes:
    return (SAMPLES / name).read_bytes()


def test_german_statement_balances_and_signs():
    statement = read_statement(sample("mt940_german.sta"))
    assert statement.format == "mt940"
    assert statement.currency == "EUR"
    assert statement.account_iban is None  # :25: is BLZ/account number, not an IBAN
    assert statement.opening_balance == Balance(Decimal("1200.00"), "EUR", date(2024, 3, 3))
    assert statement.closing_balance == Balance(Decimal("2329.66"), "EUR", date(2024, 3, 6))
    # C, D, RC (reversal of a credit: money out), RD (reversal of a debit: money in), C.
    assert [line.amount for line in statement.lines] == [
        Decimal("1234.56"),
        Decimal("-89.90"),
        Decimal("-50.00"),
        Decimal("20.00"),
        Decimal("15.00"),
    ]
    assert [line.where for line in statement.lines] == [
        "line 5",
        "line 10",
        "line 14",
        "line 16",
        "line 19",
    ]
    assert all(line.error is None and line.status == "booked" for line in statement.lines)


def test_german_structured_details():
    credit, debit, *_ = read_statement(sample("mt940_german.sta")).lines
    assert credit.line_id == "BANKREF0001"
    assert credit.booking_date == date(2024, 3, 4)
    assert credit.counterparty_name == "Müller Maschinenbau Handelsgesellschaft mbH"
    assert credit.counterparty_iban == "DE02120300000000202051"
    assert credit.end_to_end_id == "E2E-INV-2024-0042"
    assert credit.remittance == "Rechnung INV-2024-0042 Kundennr K-1007 vielen Dank"
    # The entry date (0304) is the booking date, the :61: date the value date.
    assert (debit.booking_date, debit.value_date) == (date(2024, 3, 4), date(2024, 3, 5))
    assert debit.counterparty_name == "Stadtwerke Musterstadt"
    assert debit.counterparty_iban == "DE75512108001245126199"
    assert debit.end_to_end_id is None  # EREF+NOTPROVIDED
    assert debit.remittance == "Strom Februar 2024 Vertrag 55-1234"


def test_unstructured_details_and_references():
    lines = read_statement(sample("mt940_german.sta")).lines
    storno, return_debit, refund = lines[2], lines[3], lines[4]
    assert storno.remittance == "Storno Gutschrift vom 01.03.2024 wegen falscher Kontonummer"
    assert storno.counterparty_name is None
    # A full 65-character line runs on into the next one without a space.
    assert return_debit.remittance == (
        "Rueckbuchung der Lastschrift Mandat M-77 Grund AC04 Konto aufgeloest, "
        "Ref EREF+RUECK-2024-77"
    )
    assert return_debit.end_to_end_id == "RUECK-2024-77"
    assert return_debit.line_id is None  # NONREF and no bank reference
    assert refund.counterparty_name == "Hans Dampf"
    assert refund.counterparty_iban is None  # ?31 is an account number
    assert refund.remittance == "Erstattung Porto"


def test_swift_envelope_with_two_statements():
    statement = read_statement(sample("mt940_swift.sta"))
    assert statement.account_iban == "DE89370400440532013000"
    assert statement.opening_balance == Balance(Decimal("1250.00"), "EUR", date(2024, 3, 3))
    assert statement.closing_balance == Balance(Decimal("2400.00"), "EUR", date(2024, 3, 5))
    first, second = statement.lines
    assert (first.where, first.line_id, first.amount) == ("line 6", "CB-0001", Decimal("1234.56"))
    assert first.counterparty_name == "Mueller Maschinenbau GmbH"
    assert first.remittance == "INV-2024-0042"
    assert (second.where, second.index, second.amount) == ("line 16", 1, Decimal("-84.56"))
    assert second.remittance == "Kartenzahlung Baumarkt Filiale 12"


def test_broken_61_is_a_line_error_and_the_rest_imports():
    data = sample("mt940_german.sta").replace(b":61:2403050304D89,90", b":61:24AB050304D89,90")
    lines = read_statement(data).lines
    assert len(lines) == 5
    broken = lines[1]
    assert broken.where == "line 10"
    assert broken.amount is None
    assert broken.error == (
        ":61: '24AB050304D89,90NDDTKREF-4711//BANKREF0002' is not a valid statement line"
    )
    assert [line.amount for line in lines if line.error is None] == [
        Decimal("1234.56"),
        Decimal("-50.00"),
        Decimal("20.00"),
        Decimal("15.00"),
    ]


def test_impossible_date_in_61_is_a_line_error():
    data = sample("mt940_german.sta").replace(b":61:2403050304D89,90", b":61:2413450304D89,90")
    lines = read_statement(data).lines
    assert lines[1].error == ":61: '2413450304D89,90NDDTKREF-4711//BANKREF0002' has a bad date"
    assert lines[2].amount == Decimal("-50.00")


def test_unclosed_swift_block_is_a_file_error():
    data = sample("mt940_swift.sta").replace(b"-}{5:{CHK:4F3A2B1C9D8E}}", b"")
    with pytest.raises(StatementFileError) as caught:
        read_statement(data)
    assert (caught.value.message, caught.value.where) == ("SWIFT block 4 is not closed", "line 1")


@pytest.mark.parametrize(
    ("old", "new", "message", "where"),
    [
        (b":62F:C240306EUR2329,66\r\n", b"", "statement has no :62F: closing balance", "line 1"),
        (b":60F:C240303", b":60F:X240303", ":60F: 'X240303EUR1200,00' does not parse", "line 4"),
        (
            b":20:STARTUMSE",
            b":21:STARTUMSE",
            ":21: comes before the first :20: statement header",
            "line 1",
        ),
    ],
)
def test_broken_block_structure(old, new, message, where):
    data = sample("mt940_german.sta").replace(old, new)
    with pytest.raises(StatementFileError) as caught:
        read_statement(data, format="mt940")
    assert (caught.value.message, caught.value.where) == (message, where)
