"""Builders for reconciliation tests: invoices, credits, suggestions, and row counts.

Rows are written straight through the session (inside the tenant's scope), not through
the API: creating invoices or importing lines requests a reconcile run, which on the
embedded default runs the engine in-process and would match the test data before the
test could. What is under test here is what people do after a run.
"""

from __future__ import annotations

import datetime as dt
import itertools
import threading

from sqlalchemy import event, func, select

from payymo import db
from payymo.db import utcnow
from payymo.ids import new_id
from payymo.models import BankAccount, Invoice, Suggestion, Transaction
from payymo.tenancy import system_scope, tenant_scope

_serial = itertools.count(1)


class Seed:
    """Writes one tenant's invoices, credits and suggestions directly, committed."""

    def __init__(self, session, tenant_id: str):
        self.session = session
        self.tenant_id = tenant_id
        self._accounts: dict[str, str] = {}

    def _add(self, obj):
        with tenant_scope(self.tenant_id):
            self.session.add(obj)
            self.session.commit()
        return obj.id

    def account(self, currency: str = "EUR") -> str:
        """A manual bank account in ``currency`` (one per currency)."""
        if currency not in self._accounts:
            self._accounts[currency] = self._add(
                BankAccount(
                    id=new_id("ba"), kind="manual", name=f"{currency} account", currency=currency
                )
            )
        return self._accounts[currency]

    def invoice(self, external_id: str, **fields) -> str:
        """An open invoice (EUR 123.00 from Initech BV unless overridden)."""
        values = {
            "number": "INV-1042",
            "customer_name": "Initech BV",
            "customer_email": "ap@initech.example",
            "customer_reference": None,
            "amount_due": 12_300,
            "currency": "EUR",
            "issue_date": dt.date(2026, 11, 1),
            "due_date": dt.date(2026, 11, 30),
            "status": "open",
        } | fields
        return self._add(
            Invoice(
                id=new_id("inv"), external_id=external_id, amount_paid=0, metadata_={}, **values
            )
        )

    def transaction(self, amount: int = 12_300, **fields) -> str:
        """A booked bank line, a credit by default, unmatched."""
        values = {
            "currency": "EUR",
            "status": "booked",
            "booking_date": dt.date(2026, 11, 20),
            "counterparty_name": "Initech B.V.",
            "counterparty_iban": "NL91ABNA0417164300",
            "remittance_information": "INV-1042",
            "match_status": "unmatched",
        } | fields
        serial = next(_serial)
        return self._add(
            Transaction(
                id=new_id("txn"),
                account_id=self.account(values["currency"]),
                dedupe_key=f"test-{serial}",
                provider_id=f"line-{serial}",
                amount=amount,
                amount_allocated=0,
                **values,
            )
        )

    def update(self, model, object_id: str, **values) -> None:
        """Set columns on a row as another actor (a run, an import) would."""
        with tenant_scope(self.tenant_id):
            obj = self.session.get(model, object_id)
            for name, value in values.items():
                setattr(obj, name, value)
            obj.updated_at = utcnow()
            self.session.commit()

    def suggestion(
        self,
        transaction_id: str,
        lines: list[tuple[str, int]],
        *,
        confidence: float = 0.8,
        rank: int = 1,
        status: str = "open",
        reasons: list[dict] | None = None,
    ) -> str:
        """A suggestion as the reconcile run would write it."""
        if reasons is None:
            reasons = [{"code": "amount_exact", "text": "amount equals the open amount"}]
        return self._add(
            Suggestion(
                id=new_id("sug"),
                transaction_id=transaction_id,
                allocations=[{"invoice_id": i, "amount": a} for i, a in lines],
                invoice_ids=[i for i, _ in lines],
                confidence=confidence,
                reasons=reasons,
                rank=rank,
                status=status,
            )
        )

    def get(self, model, object_id: str):
        """The row as stored now."""
        with tenant_scope(self.tenant_id):
            self.session.expire_all()
            return self.session.get(model, object_id)


def count_rows(model, **where) -> int:
    """Rows of ``model`` in every tenant matching ``where``."""
    stmt = select(func.count()).select_from(model)
    for name, value in where.items():
        stmt = stmt.where(getattr(model, name) == value)
    with system_scope():
        return db.session.scalar(stmt)


def selects_during(connection, call) -> tuple[object, list[str]]:
    """``call()``'s result and the SELECTs it ran on ``connection`` (in this thread)."""
    statements: list[str] = []
    thread = threading.get_ident()

    def record(_conn, _cursor, statement, *_args):
        # In-process jobs run in their own thread; only the request's reads count.
        if threading.get_ident() == thread and statement.lstrip().upper().startswith("SELECT"):
            statements.append(statement)

    event.listen(connection, "before_cursor_execute", record)
    try:
        result = call()
    finally:
        event.remove(connection, "before_cursor_execute", record)
    return result, statements


def assert_error(response, status: int, *, type_: str | None = None, param=...) -> dict:
    """The response is ``status`` in the error envelope; returns the inner error."""
    assert response.status_code == status, response.get_data(as_text=True)
    error = response.get_json()["error"]
    assert error["request_id"] == response.headers["X-Request-Id"]
    assert isinstance(error["message"], str) and error["message"]
    if type_ is not None:
        assert error["type"] == type_
    if param is not ...:
        assert error["param"] == param
    return error
