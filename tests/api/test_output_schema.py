"""OutputSchema's fast path dumps exactly what plain marshmallow would."""

from __future__ import annotations

import datetime as dt
from types import SimpleNamespace

import pytest
from marshmallow import Schema
from sqlalchemy import select

from payymo.api.api_keys.schemas import ApiKeyOut
from payymo.api.bank_accounts.schemas import BankAccountOut
from payymo.api.common import OutputSchema
from payymo.api.events.schemas import EventOut
from payymo.api.invoices.schemas import InvoiceOut
from payymo.api.reconciliation.schemas import MatchList, MatchOut, SuggestionOut
from payymo.api.transactions.schemas import TransactionOut
from payymo.models import ApiKey, BankAccount, Event, Invoice, Match, Suggestion, Transaction
from payymo.services.reconciliation.write import row_view
from payymo.tenancy import tenant_scope
from tests.helpers import invoice_body
from tests.reconciliation_helpers import Seed


def _vanilla(schema: Schema, obj) -> dict:
    return Schema._serialize(schema, obj)


@pytest.fixture
def oracle(monkeypatch):
    """Dumps with every OutputSchema, nested ones too, on plain marshmallow."""

    def dump(schema_cls, obj, many=False):
        with monkeypatch.context() as patch:
            patch.setattr(OutputSchema, "_serialize", Schema._serialize)
            return schema_cls(many=many).dump(obj)

    return dump


def test_nested_schemas_dump_as_marshmallow_does(api, tenant, session, oracle):
    seed = Seed(session, tenant.tenant_id)
    paid = seed.invoice("ERP-1")
    other = seed.invoice("ERP-2", number="INV-1043", amount_due=5_000)
    credit = seed.transaction(17_300)
    reasons = [{"code": "reference_exact", "text": "INV-1042 found in remittance"}]
    seed.suggestion(credit, [(paid, 12_300), (other, 5_000)], confidence=0.875, reasons=reasons)
    body = {
        "transaction_id": credit,
        "allocations": [
            {"invoice_id": paid, "amount": 12_300},
            {"invoice_id": other, "amount": 5_000},
        ],
    }
    assert api.post("reconciliation/matches", json=body).status_code == 201
    with tenant_scope(tenant.tenant_id):
        matches = session.scalars(select(Match)).all()
        suggestions = session.scalars(select(Suggestion)).all()
        assert matches and suggestions
        for schema_cls, rows in ((MatchOut, matches), (SuggestionOut, suggestions)):
            for row in rows:
                assert schema_cls().dump(row) == oracle(schema_cls, row)
            assert schema_cls(many=True).dump(rows) == oracle(schema_cls, rows, many=True)
        page = {"data": matches, "has_more": False, "next_cursor": None}
        assert MatchList().dump(page) == oracle(MatchList, page)
    # What the reconcile run's writer dumps: plain rows, not ORM objects.
    now = dt.datetime(2026, 11, 25, 12, 0, tzinfo=dt.UTC)
    row = {
        "id": "mat_x", "transaction_id": credit, "amount": 12_300, "currency": "EUR",
        "method": "auto", "status": "active", "confidence": 1, "reasons": reasons,
        "created_by": "engine", "created_at": now, "reversed_at": None, "reversed_by": None,
        "suggestion_id": None,
    }  # fmt: skip
    lines = [{"invoice_id": paid, "amount": 12_300, "charge": 0, "currency": "EUR"}]
    view = row_view(row, allocations=lines, payout_lines=[])
    dumped = MatchOut().dump(view)
    assert dumped == oracle(MatchOut, view)
    assert dumped["confidence"] == 1.0 and isinstance(dumped["confidence"], float)
    assert dumped["created_at"] == "2026-11-25T12:00:00+00:00"
    assert dumped["allocations"][0]["amount_display"] == "123.00"


def test_fast_dump_equals_marshmallow(api, tenant, session):
    assert api.post("invoices", json=invoice_body(metadata={"crm": "42"})).status_code == 201
    account = api.post(
        "bank_accounts", json={"name": "Main", "currency": "EUR", "iban": "DE89370400440532013000"}
    ).json
    imported = api.post(
        "transactions/import",
        json={
            "account_id": account["id"],
            "transactions": [
                {
                    "booking_date": "2026-11-02",
                    "amount": -1250,
                    "currency": "EUR",
                    "counterparty_name": "Initech BV",
                    "remittance_information": "INV-1042",
                }
            ],
        },
    )
    assert imported.status_code == 200, imported.json
    cases = [
        (InvoiceOut, Invoice),
        (BankAccountOut, BankAccount),
        (TransactionOut, Transaction),
        (ApiKeyOut, ApiKey),
        (EventOut, Event),
    ]
    with tenant_scope(tenant.tenant_id):
        for schema_cls, model in cases:
            assert issubclass(schema_cls, OutputSchema)
            rows = session.scalars(select(model)).all()
            assert rows, model
            schema = schema_cls()
            for row in rows:
                assert schema.dump(row) == _vanilla(schema, row), schema_cls.__name__
            assert schema_cls(many=True).dump(rows) == [_vanilla(schema, r) for r in rows]


def _txn(**changes) -> SimpleNamespace:
    now = dt.datetime(2026, 11, 25, 12, 0, tzinfo=dt.UTC)
    values = {
        "id": "txn_x", "account_id": "ba_x", "provider_id": None, "status": "booked",
        "booking_date": dt.date(2026, 11, 2), "value_date": None, "amount": 17_300,
        "amount_allocated": 12_300, "currency": "EUR", "counterparty_name": "Initech BV",
        "counterparty_iban": None, "remittance_information": "INV-1042", "end_to_end_id": None,
        "match_status": "partially_matched", "category": None, "notes": "n", "created_at": now,
        "updated_at": now,
    }  # fmt: skip
    return SimpleNamespace(**(values | changes))


@pytest.mark.parametrize(
    "txn",
    [
        _txn(),
        _txn(amount=-1250, amount_allocated=0, match_status="unmatched", value_date=None),
        _txn(amount=5, amount_allocated=9, currency="JPY", match_status="ignored"),
        _txn(amount=1_000, currency="BHD", booking_date=None, status="pending"),
        _txn(amount=0, amount_allocated=0, provider_id="p-1", category="fees"),
    ],
)
def test_represented_documents_equal_their_fields(txn):
    """A schema that dumps through a representation function gives what its fields give."""
    schema = TransactionOut()
    assert TransactionOut.represent is not None
    assert schema.dump(txn) == _vanilla(schema, txn) == schema.dump_by_fields(txn)


def _invoice(**changes) -> SimpleNamespace:
    now = dt.datetime(2026, 11, 25, 12, 0, tzinfo=dt.UTC)
    values = {
        "id": "inv_x", "external_id": "E1", "number": "INV-1", "customer_name": "Initech",
        "customer_email": None, "customer_reference": None, "amount_due": 12_300,
        "amount_paid": 2_300, "amount_charged": 0, "currency": "EUR",
        "issue_date": dt.date(2026, 11, 1), "due_date": None, "status": "partially_paid",
        "dispute_status": None, "metadata_": {"crm": "42"}, "voided_at": None,
        "created_at": now, "updated_at": now,
    }  # fmt: skip
    values |= changes
    remaining = values["amount_due"] - values["amount_paid"] - values["amount_charged"]
    return SimpleNamespace(
        amount_remaining=0 if values["status"] == "void" else remaining, **values
    )


@pytest.mark.parametrize(
    "invoice",
    [
        _invoice(),
        _invoice(amount_charged=150, metadata_={}, due_date=dt.date(2026, 12, 1)),
        _invoice(currency="JPY", amount_due=5, amount_paid=0, customer_email="a@b.c"),
        _invoice(status="void", voided_at=dt.datetime(2026, 11, 26, tzinfo=dt.UTC)),
        _invoice(status="paid", amount_paid=12_300, dispute_status="needs_response"),
    ],
)
def test_represented_invoices_equal_their_fields(invoice):
    schema = InvoiceOut()
    assert InvoiceOut.represent is not None
    assert schema.dump(invoice) == _vanilla(schema, invoice) == schema.dump_by_fields(invoice)
