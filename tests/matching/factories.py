"""Small hand-built engine inputs for the matching tests."""

from __future__ import annotations

import datetime as dt

from payymo.matching.engine import reconcile
from payymo.matching.names import customer_key
from payymo.matching.types import InvoiceIn, MatchSettings, PayerMemory, TxnIn

DAY = dt.date(2024, 3, 1)


def invoice(
    id: str,
    number: str | None,
    amount: int,
    customer: str = "Acme Widgets Ltd",
    *,
    currency: str = "EUR",
    reference: str | None = None,
    issue: dt.date = DAY - dt.timedelta(days=30),
    due: dt.date | None = DAY,
) -> InvoiceIn:
    """An open invoice (open amount = amount)."""
    return InvoiceIn(id, number, customer, None, reference, amount, currency, issue, due)


def txn(
    id: str,
    amount: int,
    remittance: str = "",
    payer: str | None = "Acme Widgets Ltd",
    *,
    currency: str = "EUR",
    booked: bool = True,
    day: dt.date | None = DAY,
    iban: str | None = None,
) -> TxnIn:
    """An incoming credit."""
    return TxnIn(id, amount, currency, booked, day, payer, iban, remittance)


def key(name: str, reference: str | None = None) -> str:
    """The customer key the engine derives for a customer."""
    return customer_key(reference=reference, name=name, email=None)


def run(transactions, invoices, settings=None, memory=None, blocked=frozenset()):
    """reconcile() with default settings and empty memory; decisions by transaction id."""
    decisions = reconcile(
        transactions,
        invoices,
        settings=settings or MatchSettings(),
        memory=memory or PayerMemory(),
        blocked=blocked,
    )
    return {d.transaction_id: d for d in decisions}


def codes(candidate) -> set[str]:
    """The reason codes of a candidate."""
    return {r.code for r in candidate.reasons}
