"""Bank accounts: list, and create manual accounts for imported statements."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from payymo.db import utcnow
from payymo.ids import new_id
from payymo.models import BankAccount
from payymo.pagination import Page, paginate


def create_bank_account(*, session: Session, data: dict) -> BankAccount:
    """Create a ``manual`` account (``iban`` already validated and normalised)."""
    now = utcnow()
    account = BankAccount(
        id=new_id("ba"),
        kind="manual",
        name=data["name"].strip(),
        currency=data["currency"],
        iban=data.get("iban"),
        created_at=now,
        updated_at=now,
    )
    session.add(account)
    session.flush()
    return account


def list_bank_accounts(*, session: Session, filters: dict, page: dict) -> Page:
    """Filtered, newest-first page of bank accounts."""
    stmt = select(BankAccount)
    for name in ("kind", "currency", "iban"):
        if filters.get(name) is not None:
            stmt = stmt.where(getattr(BankAccount, name) == filters[name])
    return paginate(session, stmt, BankAccount, prefix="ba", **page)
