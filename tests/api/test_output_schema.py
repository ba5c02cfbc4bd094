"""OutputSchema's fast path dumps exactly what plain marshmallow would."""

from __future__ import annotations

from marshmallow import Schema
from sqlalchemy import select

from payymo.api.api_keys.schemas import ApiKeyOut
from payymo.api.bank_accounts.schemas import BankAccountOut
from payymo.api.common import OutputSchema
from payymo.api.events.schemas import EventOut
from payymo.api.invoices.schemas import InvoiceOut
from payymo.api.transactions.schemas import TransactionOut
from payymo.models import ApiKey, BankAccount, Event, Invoice, Transaction
from payymo.tenancy import tenant_scope
from tests.helpers import invoice_body


def _vanilla(schema: Schema, obj) -> dict:
    return Schema._serialize(schema, obj)


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
