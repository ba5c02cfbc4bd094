"""Rows for reconcile-run tests, written directly (no import triggers a run of its own)."""

from __future__ import annotations

import datetime as dt
import itertools

from sqlalchemy import func, select

from payymo.db import utcnow
from payymo.ids import new_id
from payymo.models import BankAccount, Invoice, Transaction
from payymo.services import tenants as tenant_service
from payymo.tenancy import tenant_scope

_keys = itertools.count(1)
DAY = dt.date(2026, 11, 20)


def account(session, tenant_id: str, currency: str = "EUR") -> str:
    """A committed manual bank account."""
    with tenant_scope(tenant_id):
        row = BankAccount(id=new_id("ba"), name="Main", currency=currency, kind="manual")
        session.add(row)
        session.commit()
        return row.id


def new_tenant(sessions, name: str) -> tuple[str, str]:
    """A committed tenant and its EUR account; ``sessions.created`` deletes it after."""
    with sessions() as session:
        tenant = tenant_service.create_tenant(session=session, name=name)
        session.commit()
    sessions.created.append(tenant.id)
    with sessions() as session:
        return tenant.id, account(session, tenant.id)


def invoice_row(number: str, amount: int, customer: str, **overrides) -> Invoice:
    """An open invoice, not yet added."""
    now = utcnow()
    values = {
        "id": new_id("inv"),
        "external_id": f"ext-{number}-{next(_keys)}",
        "number": number,
        "customer_name": customer,
        "amount_due": amount,
        "amount_paid": 0,
        "currency": "EUR",
        "issue_date": DAY - dt.timedelta(days=20),
        "due_date": DAY + dt.timedelta(days=10),
        "status": "open",
        "metadata_": {},
        "created_at": now,
        "updated_at": now,
    }
    values.update(overrides)
    return Invoice(**values)


def credit_row(account_id: str, amount: int, remittance: str, payer: str, **overrides):
    """A booked credit, not yet added."""
    now = utcnow()
    values = {
        "id": new_id("txn"),
        "account_id": account_id,
        "dedupe_key": f"test:{next(_keys)}",
        "status": "booked",
        "booking_date": DAY,
        "value_date": DAY,
        "amount": amount,
        "amount_allocated": 0,
        "currency": "EUR",
        "counterparty_name": payer,
        "remittance_information": remittance,
        "match_status": "unmatched",
        "created_at": now,
        "updated_at": now,
    }
    values.update(overrides)
    return Transaction(**values)


def add(session, tenant_id: str, *rows) -> list[str]:
    """Add and commit rows for a tenant; returns their ids."""
    with tenant_scope(tenant_id):
        session.add_all(rows)
        session.commit()
    return [row.id for row in rows]


def count(session, tenant_id: str, model, **where) -> int:
    """The tenant's rows of ``model`` matching ``where``."""
    stmt = select(func.count()).select_from(model)
    for name, value in where.items():
        stmt = stmt.where(getattr(model, name) == value)
    with tenant_scope(tenant_id):
        return session.scalar(stmt)


def run(session, tenant_id: str, **kwargs) -> dict:
    """Run reconciliation for the tenant (incremental unless ``full=True``); its counts."""
    from payymo.services.reconciliation.run import run_reconciliation

    with tenant_scope(tenant_id):
        return run_reconciliation(session=session, **kwargs)
