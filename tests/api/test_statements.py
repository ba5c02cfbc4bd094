"""POST /bank_accounts/{id}/statements: statement files imported like the JSON import."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from sqlalchemy import func, select

from payymo.models import Event, Transaction
from payymo.services.statements import importer
from payymo.services.statements.importer import MAX_FILE_BYTES
from payymo.tenancy import tenant_scope
from tests.api.test_transactions import import_rows, new_account

SAMPLES = Path(__file__).resolve().parent.parent / "statements" / "samples"


def upload(api, account_id: str, name: str, data: bytes | None = None, **form):
    """Post a sample (or ``data``) as the multipart field ``file``."""
    body = data if data is not None else (SAMPLES / name).read_bytes()
    fields = {"file": (io.BytesIO(body), name), **form}
    return api.post(
        f"bank_accounts/{account_id}/statements", data=fields, content_type="multipart/form-data"
    )


def lines_of(session, tenant, account_id: str) -> list[Transaction]:
    with tenant_scope(tenant.tenant_id):
        stmt = select(Transaction).where(Transaction.account_id == account_id)
        return sorted(session.scalars(stmt), key=lambda t: t.provider_id or "")


@pytest.mark.parametrize(
    ("name", "fmt", "count"),
    [
        ("camt053_v02.xml", "camt.053", 5),
        ("camt053_v08.xml", "camt.053", None),
        ("camt052.xml", "camt.052", None),
        ("camt054.xml", "camt.054", None),
        ("mt940_german.sta", "mt940", None),
        ("mt940_swift.sta", "mt940", None),
        ("statement_v1.ofx", "ofx", 3),
        ("uk.csv", "csv", 3),
        ("de_preset.csv", "csv", 3),
        ("utf8_bom.csv", "csv", None),
    ],
)
def test_every_format_is_detected_and_imported(api, name, fmt, count):
    account = new_account(api, currency="GBP" if name == "statement_v1.ofx" else "EUR")
    response = upload(api, account, name)
    assert response.status_code == 201, response.json
    body = response.json
    assert (body["object"], body["format"], body["account_id"]) == (
        "statement_import",
        fmt,
        account,
    )
    created = body["counts"]["created"]
    assert created >= 1 and body["counts"] == {"created": created, "duplicate": 0, "error": 0}
    if count is not None:
        assert created == count
    assert [r["index"] for r in body["results"]] == list(range(created))
    assert all(r["id"].startswith("txn_") for r in body["results"])


def test_a_camt_statement_becomes_transactions_with_its_balances(api, session, tenant):
    account = new_account(api)
    body = upload(api, account, "camt053_v02.xml").json
    assert body["opening_balance"] == {
        "amount": 125_000,
        "amount_display": "1250.00",
        "currency": "EUR",
        "date": "2024-03-03",
    }
    # Two statements: the first's opening balance, the last's closing one.
    assert body["closing_balance"] == {
        "amount": 273_966,
        "amount_display": "2739.66",
        "currency": "EUR",
        "date": "2024-03-05",
    }
    # 1,250.00 + 1,234.56 - 89.90 + 300.00 + 45.00; the pending 500.00 is not booked yet.
    assert body["warnings"] == []
    lines = {t.provider_id: t for t in lines_of(session, tenant, account)}
    paid = lines["2024030400001"]
    assert (paid.amount, paid.currency, paid.status) == (123_456, "EUR", "booked")
    assert (paid.counterparty_name, paid.counterparty_iban) == (
        "Müller Maschinenbau GmbH",
        "DE02120300000000202051",
    )
    assert paid.remittance_information.startswith("Rechnung INV-2024-0042 Kundennr K-1007")
    assert "RF18539007547034" in paid.remittance_information
    assert paid.end_to_end_id == "E2E-INV-2024-0042"
    assert str(paid.booking_date) == "2024-03-04"
    debit = lines["2024030400002"]
    assert (debit.amount, debit.counterparty_name, debit.end_to_end_id) == (
        -8_990,
        "Stadtwerke Musterstadt",
        None,
    )
    pending = lines["PDNG-77"]
    assert (pending.status, str(pending.booking_date)) == ("pending", "2024-03-05")  # value date


def test_the_same_file_again_and_an_overlapping_one_make_no_duplicates(api, session, tenant):
    account = new_account(api)
    first = upload(api, account, "camt053_v02.xml").json
    again = upload(api, account, "camt053_v02.xml")
    assert again.status_code == 201
    assert again.json["counts"] == {"created": 0, "duplicate": 5, "error": 0}
    assert [r["id"] for r in again.json["results"]] == [r["id"] for r in first["results"]]
    # An overlapping statement: two of its lines are known, one is new.
    data = (SAMPLES / "camt053_v02.xml").read_bytes()
    overlapping = data.replace(b"2024030400002", b"2024030400099")
    third = upload(api, account, "next.xml", overlapping).json
    assert third["counts"] == {"created": 1, "duplicate": 4, "error": 0}
    assert len(lines_of(session, tenant, account)) == 6


def test_a_line_sent_through_the_json_import_is_a_duplicate_in_a_file(api):
    account = new_account(api)
    line = {
        "id": "2024030400001",
        "booking_date": "2024-03-04",
        "amount": 123_456,
        "currency": "EUR",
    }
    assert import_rows(api, account, [line]).status_code == 200
    body = upload(api, account, "camt053_v02.xml").json
    assert body["counts"] == {"created": 4, "duplicate": 1, "error": 0}


def test_a_csv_with_an_explicit_mapping_and_debit_credit_columns(api, session, tenant):
    account = new_account(api)
    mapping = (
        '{"date": "Transaction Date", "debit": "Debit", "credit": "Credit",'
        ' "counterparty_name": "Counterparty", "description": ["Reference", "Memo"]}'
    )
    response = upload(api, account, "debit_credit.csv", mapping=mapping)
    assert response.status_code == 201, response.json
    amounts = sorted(t.amount for t in lines_of(session, tenant, account))
    assert amounts == [-4_210, -1_500, 123_456]


def test_a_csv_preset_by_name(api, session, tenant):
    account = new_account(api)
    response = upload(api, account, "uk.csv", mapping="uk")
    assert response.status_code == 201, response.json
    lines = lines_of(session, tenant, account)
    assert sorted(t.amount for t in lines) == [-125_000, -1_230, 123_456]


def test_a_line_in_another_currency_is_a_row_error(api, session, tenant):
    account = new_account(api)
    response = upload(api, account, "statement_v2.ofx")  # its second line is in USD
    assert response.status_code == 207
    assert response.json["counts"] == {"created": 1, "duplicate": 0, "error": 1}
    error = response.json["results"][1]["error"]
    assert (error["code"], error["param"]) == ("currency_mismatch", "lines[1].currency")
    assert "USD" in error["message"] and "STMTTRN 2" in error["message"]
    assert [t.provider_id for t in lines_of(session, tenant, account)] == ["OFX2-0001"]


def test_bad_rows_answer_207_and_the_rest_is_imported(api, session, tenant):
    account = new_account(api)
    csv = (
        b"Date,Description,Amount\n04/03/2024,good,10.00\nnot a date,bad,1.00\n05/03/2024,x,1.234\n"
    )
    response = upload(api, account, "odd.csv", csv)
    assert response.status_code == 207, response.json
    body = response.json
    assert body["counts"] == {"created": 1, "duplicate": 0, "error": 2}
    bad_date, bad_amount = body["results"][1], body["results"][2]
    assert bad_date["error"]["code"] == "line_unreadable"
    assert bad_date["error"]["param"] == "lines[1]"
    assert "line 3" in bad_date["error"]["message"]
    # 1.234 EUR does not fit two decimal places.
    assert (bad_amount["error"]["code"], bad_amount["error"]["param"]) == (
        "amount_invalid",
        "lines[2].amount",
    )
    assert [t.amount for t in lines_of(session, tenant, account)] == [1_000]


def test_a_closing_balance_that_does_not_add_up_is_a_warning(api):
    account = new_account(api)
    data = (SAMPLES / "camt053_v02.xml").read_bytes().replace(b"2739.66", b"2739.67")
    body = upload(api, account, "stmt.xml", data).json
    assert body["counts"]["created"] == 5
    [warning] = body["warnings"]
    assert warning["code"] == "balance_mismatch"
    assert "2739.67" in warning["message"] and "2739.66" in warning["message"]


@pytest.mark.parametrize(
    ("data", "code", "param", "words"),
    [
        (b"\x89PNG\r\n\x1a\n\x00\x00binary", "statement_format_unknown", "format", "camt.053"),
        (
            b'<?xml version="1.0"?><Document><BkToCstmrStmt><Stmt>',
            "statement_unreadable",
            "file",
            "line",
        ),
        (
            b'<?xml version="1.0"?><!DOCTYPE d [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
            b'<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.053.001.02">&x;</Document>',
            "statement_unreadable",
            "file",
            "DTD",
        ),
    ],
    ids=["unknown", "malformed-xml", "external-entity"],
)
def test_a_file_that_cannot_be_read_writes_nothing(api, session, tenant, data, code, param, words):
    account = new_account(api)
    response = upload(api, account, "file.xml", data)
    assert response.status_code == 400, response.json
    error = response.json["error"]
    assert (error["code"], error["param"]) == (code, param)
    assert words in error["message"]
    assert lines_of(session, tenant, account) == []


def test_a_balance_that_does_not_fit_the_currency_is_refused(api, session, tenant):
    account = new_account(api)
    data = (SAMPLES / "camt053_v02.xml").read_bytes().replace(b"1250.00<", b"1250.001<")
    response = upload(api, account, "stmt.xml", data)
    assert response.status_code == 400
    error = response.json["error"]
    assert (error["code"], error["param"]) == ("statement_unreadable", "file")
    assert "1250.001" in error["message"]
    assert lines_of(session, tenant, account) == []


def test_a_billion_laughs_file_is_refused_without_expanding_it(api, session, tenant):
    account = new_account(api)
    entities = "".join(f'<!ENTITY l{n} "{("&l" + str(n - 1) + ";") * 10}">' for n in range(1, 10))
    data = f'<?xml version="1.0"?><!DOCTYPE d [<!ENTITY l0 "ha">{entities}]><d>&l9;</d>'.encode()
    response = upload(api, account, "laughs.xml", data)
    assert response.status_code == 400
    assert lines_of(session, tenant, account) == []


def test_a_file_in_another_currency_is_refused(api, session, tenant):
    account = new_account(api, currency="GBP")
    response = upload(api, account, "camt053_v02.xml")
    assert response.status_code == 400
    assert response.json["error"]["code"] == "currency_mismatch"
    assert lines_of(session, tenant, account) == []


def test_bad_form_fields_and_mappings(api):
    account = new_account(api)
    wrong = upload(api, account, "uk.csv", format="pdf")
    assert (wrong.status_code, wrong.json["error"]["param"]) == (400, "format")
    garbled = upload(api, account, "uk.csv", mapping="{not json")
    assert (garbled.status_code, garbled.json["error"]["param"]) == (400, "mapping")
    missing = upload(api, account, "uk.csv", mapping='{"date": "Datum", "amount": "Amount"}')
    assert (missing.status_code, missing.json["error"]["param"]) == (400, "mapping")
    assert "Datum" in missing.json["error"]["message"]
    unknown = upload(api, account, "uk.csv", colour="blue")
    assert unknown.status_code == 400
    no_file = api.post(
        f"bank_accounts/{account}/statements",
        data={"format": "csv"},
        content_type="multipart/form-data",
    )
    assert (no_file.status_code, no_file.json["error"]["param"]) == (400, "file")


def test_json_bodies_and_oversized_files_are_refused(api):
    account = new_account(api)
    as_json = api.post(f"bank_accounts/{account}/statements", json={"file": "x"})
    assert as_json.status_code == 415
    big = upload(api, account, "big.csv", b"x" * (MAX_FILE_BYTES + 1))
    assert big.status_code == 413
    assert big.json["error"]["param"] == "file" and "20 MB" in big.json["error"]["message"]


def test_only_a_manual_account_of_ones_own_takes_statements(api, other_api, session, tenant):
    account = new_account(api)
    stranger = upload(other_api, account, "uk.csv")
    assert stranger.status_code == 404
    assert lines_of(session, tenant, account) == []


def test_each_created_line_has_its_event_and_asks_for_a_run(api, session, tenant):
    account = new_account(api)
    body = upload(api, account, "uk.csv").json
    with tenant_scope(tenant.tenant_id):
        created = session.scalar(
            select(func.count()).select_from(Event).where(Event.type == "transaction.created")
        )
    assert created == 3
    jobs = api.get("jobs?type=reconcile").json["data"]
    assert jobs and body["counts"]["created"] == 3


@pytest.mark.parametrize("chunk", [1, 2])
def test_a_file_written_chunk_by_chunk_answers_as_in_one_go(api, monkeypatch, chunk):
    # Lines are converted and keyed a chunk at a time while the server inserts the chunk
    # before: repeats of one content (three rents) and a line the account already holds
    # must come out as one pass over the whole file says.
    csv = (
        b"Date,Description,Amount\n01/11/2026,Rent,-500.00\n01/11/2026,Rent,-500.00\n"
        b"02/11/2026,INV-1,120.00\nnot a date,bad,1.00\n01/11/2026,Rent,-500.00\n"
        b"04/11/2026,Known,10.00\n"
    )
    known = b"Date,Description,Amount\n04/11/2026,Known,10.00\n"
    whole, chunked = new_account(api), new_account(api)
    for account in (whole, chunked):
        assert upload(api, account, "known.csv", known).status_code == 201
    expected = upload(api, whole, "nov.csv", csv).json
    assert expected["counts"] == {"created": 4, "duplicate": 1, "error": 1}
    monkeypatch.setattr(importer, "WRITE_CHUNK", chunk)
    got = upload(api, chunked, "nov.csv", csv).json

    def shape(body: dict) -> list:
        return [(r["status"], (r.get("error") or {}).get("code")) for r in body["results"]]

    assert (got["counts"], shape(got)) == (expected["counts"], shape(expected))
    again = upload(api, chunked, "nov.csv", csv).json
    assert again["counts"] == {"created": 0, "duplicate": 5, "error": 1}
    assert [r.get("id") for r in again["results"]] == [r.get("id") for r in got["results"]]
    # The balance check adds the booked lines of every chunk.
    data = (SAMPLES / "camt053_v02.xml").read_bytes()
    assert upload(api, new_account(api), "s.xml", data).json["warnings"] == []
    tampered = data.replace(b"2739.66", b"2739.67")
    [warning] = upload(api, new_account(api), "s.xml", tampered).json["warnings"]
    assert warning["code"] == "balance_mismatch"
