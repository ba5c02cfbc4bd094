"""camt.053 / 052 / 054: entries, balances, statuses, and XML that must be refused."""

from __future__ import annotations

import re
import time
from datetime import date
from decimal import Decimal
from pathlib import Path
from xml.etree.ElementTree import fromstring

import pytest

from integrations.statements import Balance, StatementFileError, read_statement
from integrations.statements.camt_entries import Paths

SAMPLES = Path(__file__).parent / "samples"
NS = b'xmlns="urn:iso:std:iso:20022:tech:xsd:camt.053.001.02"'


def sample(name: str) -> bytes:
    return (SAMPLES / name).read_bytes()


def camt(entries: bytes, *, account: bytes = b"DE89370400440532013000") -> bytes:
    return (
        b'<?xml version="1.0"?><Document ' + NS + b"><BkToCstmrStmt><Stmt>"
        b"<Acct><Id><IBAN>"
        + account
        + b"</IBAN></Id><Ccy>EUR</Ccy></Acct>"
        + entries
        + b"</Stmt></BkToCstmrStmt></Document>"
    )


def test_camt053_v02_statement_and_balances():
    statement = read_statement(sample("camt053_v02.xml"))
    assert statement.format == "camt.053"
    assert statement.currency == "EUR"
    assert statement.account_iban == "DE89370400440532013000"
    # Two statements in one file: the first one's opening, the last one's closing.
    assert statement.opening_balance == Balance(Decimal("1250.00"), "EUR", date(2024, 3, 3))
    assert statement.closing_balance == Balance(Decimal("2739.66"), "EUR", date(2024, 3, 5))
    assert [line.where for line in statement.lines] == [
        "Stmt 1 / Ntry 1",
        "Stmt 1 / Ntry 2",
        "Stmt 1 / Ntry 3",
        "Stmt 1 / Ntry 4",
        "Stmt 2 / Ntry 1",
    ]
    assert [line.index for line in statement.lines] == [0, 1, 2, 3, 4]
    assert [line.amount for line in statement.lines] == [
        Decimal("1234.56"),
        Decimal("-89.90"),
        Decimal("500.00"),
        Decimal("300.00"),
        Decimal("45.00"),
    ]
    assert all(line.error is None for line in statement.lines)


def test_a_prefixed_namespace_or_none_reads_the_same():
    """Entries are looked up by local name in whatever namespace the document uses."""
    plain = sample("camt053_v02.xml")
    default = b'xmlns="urn:iso:std:iso:20022:tech:xsd:camt.053.001.02"'
    prefixed = re.sub(rb"<(/?)([A-Za-z])", rb"<\1c:\2", plain.split(b"?>", 1)[1])
    prefixed = prefixed.replace(default, default.replace(b"xmlns=", b"xmlns:c="))
    no_namespace = plain.replace(default, b"")
    expected = read_statement(plain)
    assert len(expected.lines) == 5 and expected.lines[0].counterparty_name
    for variant in (prefixed, no_namespace):
        assert variant != plain
        assert read_statement(variant, format="camt.053") == expected


def test_camt053_v02_credit_with_split_ustrd_and_rf_reference():
    credit = read_statement(sample("camt053_v02.xml")).lines[0]
    assert credit.line_id == "2024030400001"
    assert credit.booking_date == date(2024, 3, 4)
    assert credit.value_date == date(2024, 3, 4)
    assert credit.currency == "EUR"
    assert credit.counterparty_name == "Müller Maschinenbau GmbH"
    assert credit.counterparty_iban == "DE02120300000000202051"
    assert (
        credit.remittance == "Rechnung INV-2024-0042 Kundennr K-1007 vielen Dank RF18539007547034"
    )
    assert credit.end_to_end_id == "E2E-INV-2024-0042"
    assert credit.status == "booked"


def test_camt053_v02_debit_pending_and_batch():
    lines = read_statement(sample("camt053_v02.xml")).lines
    debit, pending, batch, ultimate = lines[1], lines[2], lines[3], lines[4]
    # A debit's counterparty is the creditor; a spaced IBAN comes out compact.
    assert debit.counterparty_name == "Stadtwerke Musterstadt"
    assert debit.counterparty_iban == "DE75512108001245126199"
    assert debit.value_date == date(2024, 3, 5)
    assert debit.end_to_end_id is None  # NOTPROVIDED
    assert debit.remittance == "Strom Februar 2024 Vertrag 55-1234"
    assert pending.status == "pending"
    assert pending.line_id == "PDNG-77"  # no AcctSvcrRef: NtryRef
    assert pending.booking_date is None
    assert pending.counterparty_name == "Acme Ltd"
    # A batch of two payers: one booked amount, no single counterparty, both references.
    assert batch.amount == Decimal("300.00")
    assert batch.counterparty_name is None
    assert batch.counterparty_iban is None
    assert batch.end_to_end_id is None
    assert batch.remittance == "INV-2024-0051 INV-2024-0052"
    assert ultimate.counterparty_name == "Payroll Services Ltd"  # UltmtDbtr only
    assert ultimate.booking_date == date(2024, 3, 5)  # from BookgDt/DtTm


def test_camt053_v08_status_code_party_and_prcd():
    statement = read_statement(sample("camt053_v08.xml"))
    assert statement.format == "camt.053"
    assert statement.account_iban == "NL91ABNA0417164300"
    assert statement.opening_balance == Balance(Decimal("-100.00"), "EUR", date(2024, 3, 7))
    assert statement.closing_balance == Balance(Decimal("137.50"), "EUR", date(2024, 3, 8))
    credit, fee, pending = statement.lines
    assert credit.status == "booked"
    assert credit.counterparty_name == "Globex Corporation"  # Dbtr/Pty/Nm
    assert credit.counterparty_iban == "GB33BUKB20201555555555"
    assert credit.line_id == "NL-000981"
    assert credit.end_to_end_id == "GLOBEX-PAY-117"
    assert fee.amount == Decimal("-12.50")
    assert fee.remittance == "Kontoführungsgebühr März"  # AddtlNtryInf when no RmtInf
    assert fee.line_id == "2"
    assert pending.status == "pending"  # <Sts><Cd>PDNG</Cd></Sts>
    assert pending.counterparty_name == "Initech BV"  # Dbtr before UltmtDbtr
    assert pending.remittance == "2024-118 RF712348231"


def test_camt052_and_camt054():
    report = read_statement(sample("camt052.xml"))
    assert report.format == "camt.052"
    assert report.opening_balance == Balance(Decimal("2739.66"), "EUR", date(2024, 3, 5))
    assert report.closing_balance is None
    (line,) = report.lines
    assert (line.amount, line.counterparty_name, line.remittance) == (
        Decimal("75.25"),
        "Klein & Partner",
        "INV-2024-0060",
    )
    notification = read_statement(sample("camt054.xml"), currency="EUR")
    assert notification.format == "camt.054"
    assert notification.currency == "EUR"  # the file has no account currency: the caller's
    (line,) = notification.lines
    assert line.where == "Ntry 1"
    assert line.amount == Decimal("-19.99")
    assert line.counterparty_name == "Cloud Hosting AG"
    assert line.counterparty_iban == "AT611904300234573201"
    assert line.end_to_end_id == "SUB-2024-03"
    assert line.remittance == "Abo März 2024"


def test_bad_entries_are_line_errors_and_the_rest_imports():
    data = camt(
        b'<Ntry><Amt Ccy="EUR">12,3x</Amt><CdtDbtInd>CRDT</CdtDbtInd>'
        b"<BookgDt><Dt>2024-03-04</Dt></BookgDt><AcctSvcrRef>A1</AcctSvcrRef></Ntry>"
        b'<Ntry><Amt Ccy="EUR">12.345</Amt><CdtDbtInd>DBIT</CdtDbtInd>'
        b"<BookgDt><Dt>2024-02-30</Dt></BookgDt></Ntry>"
        b"<Ntry><CdtDbtInd>DBIT</CdtDbtInd></Ntry>"
        b'<Ntry><Amt Ccy="usd">7.00</Amt><CdtDbtInd>CRDT</CdtDbtInd></Ntry>'
    )
    bad_amount, bad_date, no_amount, fine = read_statement(data).lines
    assert bad_amount.amount is None
    assert bad_amount.error == "Ntry/Amt '12,3x' is not an amount"
    assert bad_amount.line_id == "A1"
    assert bad_amount.booking_date == date(2024, 3, 4)
    # Three decimals are the minor-unit layer's business; the date is ours.
    assert bad_date.amount == Decimal("-12.345")
    assert bad_date.error == "Ntry/BookgDt '2024-02-30' is not a date"
    assert no_amount.error == "Ntry/Amt is missing"
    assert (fine.amount, fine.currency, fine.error) == (Decimal("7.00"), "USD", None)


def test_malformed_xml_names_the_place():
    data = b'<?xml version="1.0"?>\n<Document ' + NS + b">\n<BkToCstmrStmt>\n<Stmt><Ntry>\n</Stmt>"
    with pytest.raises(StatementFileError) as caught:
        read_statement(data, format="camt.053")
    assert caught.value.where == "line 5, column 3"
    assert "mismatched tag" in caught.value.message


def test_external_entity_is_refused():
    data = (
        b'<?xml version="1.0"?>\n<!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]>\n'
        b"<Document " + NS + b"><BkToCstmrStmt><Stmt><Ntry><AddtlNtryInf>&e;</AddtlNtryInf>"
        b"</Ntry></Stmt></BkToCstmrStmt></Document>"
    )
    with pytest.raises(StatementFileError) as caught:
        read_statement(data)
    assert "refused" in caught.value.message
    assert "root:" not in str(caught.value)


def test_billion_laughs_is_refused_without_expanding():
    entities = b"".join(
        b'<!ENTITY lol%d "%s">' % (i, (b"&lol%d;" % (i - 1)) * 10) for i in range(1, 10)
    )
    data = (
        b'<?xml version="1.0"?>\n<!DOCTYPE lolz [<!ENTITY lol0 "lol">' + entities + b"]>\n"
        b"<Document " + NS + b"><BkToCstmrStmt><Stmt><Ntry><AddtlNtryInf>&lol9;"
        b"</AddtlNtryInf></Ntry></Stmt></BkToCstmrStmt></Document>"
    )
    started = time.perf_counter()
    with pytest.raises(StatementFileError, match="DTD or entity declarations is refused"):
        read_statement(data)
    assert time.perf_counter() - started < 1


def test_statements_for_two_accounts_are_refused():
    one = sample("camt053_v02.xml")
    other = one.replace(
        b'<IBAN>DE89370400440532013000</IBAN></Id>\n        <Ccy>EUR</Ccy>\n      </Acct>\n      <Bal>\n        <Tp><CdOrPrtry><Cd>OPBD</Cd></CdOrPrtry></Tp>\n        <Amt Ccy="EUR">2694.66',
        b'<IBAN>NL91ABNA0417164300</IBAN></Id>\n        <Ccy>EUR</Ccy>\n      </Acct>\n      <Bal>\n        <Tp><CdOrPrtry><Cd>OPBD</Cd></CdOrPrtry></Tp>\n        <Amt Ccy="EUR">2694.66',
    )
    assert other != one
    with pytest.raises(StatementFileError, match="different accounts"):
        read_statement(other)


def test_xml_that_is_not_a_camt_message():
    with pytest.raises(StatementFileError) as caught:
        read_statement(b"<Document><Other/></Document>", format="camt.053")
    assert caught.value.where == "element Document"


def test_a_path_is_found_past_a_first_branch_that_ends_early():
    # The first child at each step is tried first; a dead end there searches the rest,
    # in document order, as ElementTree's own find of the whole path would.
    doc = fromstring(  # noqa: S314 (the test's own text)
        '<R xmlns="urn:x"><A><B/></A><A><B><C>second</C></B><B><C>third</C></B></A>'
        "<A><B><C>fourth</C></B></A></R>"
    )
    paths = Paths("urn:x")
    assert paths.findtext(doc, "A/B/C") == "second"
    assert paths.find(doc, "A/B/D") is None
    assert [c.text for c in paths.findall(doc, "A/B/C")] == ["second", "third", "fourth"]
    assert paths.findtext(doc, "A/B") == ""
