"""Matches people make and undo: manual matches, the match list, reversal."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session

from payymo.models import Allocation, Invoice, Match, Transaction
from payymo.pagination import Page, paginate
from payymo.services import allocations
from payymo.services.reconciliation import payer_memory
from payymo.tenancy import get_or_404


def list_matches(*, session: Session, filters: dict, page: dict) -> Page:
    """Filtered, newest-first page of matches (``invoice_id`` via their allocation lines)."""
    stmt = select(Match)
    for name in ("transaction_id", "method", "status"):
        if filters.get(name) is not None:
            stmt = stmt.where(getattr(Match, name) == filters[name])
    if filters.get("invoice_id") is not None:
        lines = select(Allocation.match_id).where(Allocation.invoice_id == filters["invoice_id"])
        stmt = stmt.where(Match.id.in_(lines))
    return paginate(session, stmt, Match, prefix="mat", **page)


def load_invoices(session: Session, invoice_ids: Sequence[str], *, param: str) -> list[Invoice]:
    """This tenant's invoices by id, in order; the first unknown one is a 404 naming its line."""
    found = {
        inv.id: inv
        for inv in session.scalars(select(Invoice).where(Invoice.id.in_(set(invoice_ids))))
    }
    for i, invoice_id in enumerate(invoice_ids):
        if invoice_id not in found:
            # get_or_404 answers (and logs another tenant's id as a security event).
            get_or_404(session, Invoice, invoice_id, param=f"{param}[{i}].invoice_id")
    return [found[invoice_id] for invoice_id in invoice_ids]


def create_manual_match(
    *, session: Session, transaction_id: str, lines: Sequence[dict], actor: str
) -> Match:
    """Match a credit to invoices by hand; every amount is re-checked under locks."""
    txn = get_or_404(session, Transaction, transaction_id, param="transaction_id")
    invoices = load_invoices(session, [line["invoice_id"] for line in lines], param="allocations")
    match = allocations.apply_match(
        session=session,
        transaction_id=txn.id,
        allocations=[(line["invoice_id"], line["amount"]) for line in lines],
        method="manual",
        created_by=actor,
        charges={line["invoice_id"]: line["charge"] for line in lines if line.get("charge")},
    )
    payer_memory.learn(session, transaction=txn, invoices=invoices)
    return match


def reverse(*, session: Session, match: Match, actor: str) -> Match:
    """Reverse a match (idempotent); a person's match also takes back what it taught."""
    allocations.lock_payouts_of(session, match)  # the lock order is payout, then transaction
    txn = allocations.lock_transaction(session, match.transaction_id)
    # Re-read under the transaction's lock: a concurrent reversal may have won.
    session.refresh(match)
    if match.status == "reversed":
        return match
    allocations.reverse_match(session=session, match=match, reversed_by=actor)
    if match.method != "auto":
        invoice_ids = [line.invoice_id for line in match.allocations]
        invoices = session.scalars(select(Invoice).where(Invoice.id.in_(invoice_ids)))
        payer_memory.unlearn(session, transaction=txn, invoices=invoices)
    return match
