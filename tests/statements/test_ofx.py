"""OFX 1.x SGML and 2.x XML downloads."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest

from integrations.statements import Balance, StatementFileError, read_statement

SAMPLES = Path(__file__).parent / "samples"


def sample(name: str) -> bytes:
    return (SAMPLES / name).read_bytes()


def test_ofx1_sgml_with_unclosed_tags():
    statement = read_statement(sample("statement_v1.ofx"))
    assert statement.format == "ofx"
    assert statement.currency == "GBP"
    assert statement.account_iban is None  # ACCTID is a plain account number
    assert statement.opening_balance is None
    assert statement.closing_balance == Balance(Decimal("3069.36"), "GBP", date(2024, 3, 6))
    credit, card, bill = statement.lines
    assert (credit.where, credit.line_id, credit.amount) == (
        "STMTTRN 1",
        "202403040001",
        Decimal("1234.56"),
    )
    assert credit.booking_date == date(2024, 3, 4)
    assert credit.counterparty_name == "ACME LTD"
    assert credit.remittance == "ACME LTD INV-2024-0042 THANK YOU"
    # 23:30 EST is the 6th in UTC: the bank's own day counts.
    assert card.booking_date == date(2024, 3, 5)
    assert card.value_date == date(2024, 3, 4)  # DTUSER when there is no DTAVAIL
    assert card.amount == Decimal("-45.20")
    assert card.counterparty_name == "MARKS & SPENCER"
    assert bill.counterparty_name == "British Gas"  # PAYEE/NAME
    assert bill.remittance == "Gas March"
    assert all(line.currency == "GBP" and line.error is None for line in statement.lines)


def test_ofx2_xml():
    statement = read_statement(sample("statement_v2.ofx"))
    assert statement.currency == "EUR"
    assert statement.account_iban == "DE89370400440532013000"
    assert statement.closing_balance == Balance(Decimal("-12.34"), "EUR", date(2024, 3, 8))
    credit, rental = statement.lines
    assert (credit.booking_date, credit.value_date) == (date(2024, 3, 7), date(2024, 3, 8))
    assert credit.line_id == "OFX2-0001"
    assert credit.counterparty_name == "Globex Corporation"
    assert credit.remittance == "Globex Corporation Invoice 2024-117"
    assert (rental.amount, rental.currency) == (Decimal("-99.95"), "USD")
    assert rental.remittance == "Server rental"
    assert rental.end_to_end_id is None


def test_bad_trnamt_is_a_line_error():
    data = sample("statement_v1.ofx").replace(b"<TRNAMT>-45.20", b"<TRNAMT>12,3.4")
    lines = read_statement(data).lines
    assert lines[1].amount is None
    assert lines[1].error == "STMTTRN/TRNAMT '12,3.4' is not an amount"
    assert lines[1].line_id == "202403050002"
    assert [lines[0].amount, lines[2].amount] == [Decimal("1234.56"), Decimal("-120.00")]


def test_body_without_header_still_reads():
    data = sample("statement_v1.ofx")
    body = data[data.index(b"<OFX>") :]
    statement = read_statement(body)
    assert [line.line_id for line in statement.lines] == [
        "202403040001",
        "202403050002",
        "202403060003",
    ]


def test_doctype_is_refused():
    data = sample("statement_v2.ofx").replace(
        b"<OFX>", b'<!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]>\n<OFX>', 1
    )
    with pytest.raises(StatementFileError, match="refused"):
        read_statement(data)


def test_a_file_cut_short_is_refused():
    data = sample("statement_v2.ofx")
    with pytest.raises(StatementFileError) as caught:
        read_statement(data[: data.index(b"<TRNAMT>250.00")])
    assert (caught.value.message, caught.value.where) == (
        "the OFX file is cut short: no </OFX>",
        "end of file",
    )
