"""What a person reviews: credits waiting for a decision, and invoices with their payments."""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from payymo.models import Allocation, BankAccount, Invoice, Suggestion, Transaction
from payymo.services import search, search_indexes
from payymo.services.suggestions import show

PAGE = 50


@dataclass
class CreditToReview:
    """A credit nothing explains yet, and the suggestions waiting beside it."""

    credit: Transaction
    suggestions: list[Suggestion] = field(default_factory=list)


@dataclass
class InvoicePayments:
    """An invoice and the live allocation lines that paid it (each with its match)."""

    invoice: Invoice
    lines: list[Allocation] = field(default_factory=list)


def credits_to_review(*, session: Session, limit: int = PAGE) -> list[CreditToReview]:
    """The newest bank credits still unmatched, with their open suggestions, best first."""
    bank = select(BankAccount.id).where(BankAccount.kind != "stripe")
    credits = session.scalars(
        select(Transaction)
        .where(
            Transaction.amount > 0,
            Transaction.match_status.in_(("unmatched", "suggested")),
            Transaction.account_id.in_(bank),
        )
        .order_by(Transaction.id.desc())
        .limit(limit)
    ).all()
    found = {c.id: CreditToReview(c) for c in credits}
    if found:
        open_ones = session.scalars(
            select(Suggestion)
            .where(Suggestion.transaction_id.in_(found), Suggestion.status == "open")
            .order_by(Suggestion.rank, Suggestion.id)
        ).all()
        show(session, open_ones)
        for suggestion in open_ones:
            found[suggestion.transaction_id].suggestions.append(suggestion)
    return list(found.values())


def invoices_with_payments(
    *, session: Session, query: str | None = None, limit: int = PAGE
) -> list[InvoicePayments]:
    """The newest invoices (``query``: in the number or the customer), with their payments."""
    stmt = select(Invoice).order_by(Invoice.id.desc()).limit(limit)
    if query:
        texts = (query, query)
        stmt = search.restrict(session, stmt, search_indexes.INVOICE_NUMBERS, Invoice, texts)
    invoices = session.scalars(stmt).all()
    found = {i.id: InvoicePayments(i) for i in invoices}
    if found:
        for line in session.scalars(
            select(Allocation)
            .where(Allocation.invoice_id.in_(found), Allocation.status == "active")
            .order_by(Allocation.id)
        ):
            found[line.invoice_id].lines.append(line)
    return list(found.values())


def open_invoices(
    *, session: Session, query: str | None = None, limit: int = PAGE
) -> list[Invoice]:
    """Invoices still owing, newest first; ``query`` is part of the number or the customer,
    or an amount in minor units."""
    stmt = (
        select(Invoice)
        .where(Invoice.status.in_(("open", "partially_paid")))
        .order_by(Invoice.id.desc())
        .limit(limit)
    )
    if query:
        found = [search.matching(session, search_indexes.INVOICE_NUMBERS, Invoice, (query, query))]
        if query.isdigit():
            found.append(Invoice.amount_due == int(query))
        stmt = stmt.where(or_(*found))
    return list(session.scalars(stmt))
