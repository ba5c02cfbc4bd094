"""Suggestions people decide on: list, accept (apply and learn), reject (never again)."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import Text, cast, select
from sqlalchemy.orm import Session, undefer

from payymo.db import utcnow
from payymo.errors import Conflict, PayymoError
from payymo.models import Invoice, Suggestion, Transaction
from payymo.pagination import Page, paginate
from payymo.services import allocations
from payymo.services.filters import escape_like
from payymo.services.reconciliation import payer_memory
from payymo.tenancy import get_or_404


class SuggestionExpired(Conflict):
    """The suggestion no longer fits the amounts; it was expired instead of applied."""

    code = "suggestion_expired"


def _lists_invoice(invoice_id: str):
    # invoice_ids is a JSON array (JSONB on PostgreSQL, text on SQLite). Its text form
    # holds each id in double quotes on both, so a LIKE on the quoted, escaped id is a
    # whole-id test that runs unchanged on both backends; the tenant's rows are already
    # narrowed by the (tenant_id, id) index and any other filter.
    quoted = escape_like(f'"{invoice_id}"')
    return cast(Suggestion.invoice_ids, Text).like(f"%{quoted}%", escape="\\")


def show(session: Session, suggestions: Sequence[Suggestion]) -> None:
    """Load the invoices the suggestions' lines name (one query) for showing beside them."""
    wanted = {line["invoice_id"] for s in suggestions for line in s.allocations or ()}
    found = {}
    if wanted:
        found = {i.id: i for i in session.scalars(select(Invoice).where(Invoice.id.in_(wanted)))}
    for suggestion in suggestions:
        suggestion.shown_invoices = {
            line["invoice_id"]: found.get(line["invoice_id"])
            for line in suggestion.allocations or ()
        }


def list_suggestions(*, session: Session, filters: dict, page: dict) -> Page:
    """Filtered, newest-first page of suggestions, their invoices loaded to be shown."""
    stmt = select(Suggestion).options(undefer(Suggestion.currency))
    for name in ("transaction_id", "status"):
        if filters.get(name) is not None:
            stmt = stmt.where(getattr(Suggestion, name) == filters[name])
    if filters.get("invoice_id") is not None:
        stmt = stmt.where(_lists_invoice(filters["invoice_id"]))
    found = paginate(session, stmt, Suggestion, prefix="sug", **page)
    show(session, found.data)
    return found


def get_suggestion(*, session: Session, suggestion_id: str) -> Suggestion:
    """One suggestion, its invoices loaded to be shown; ``NotFound`` otherwise."""
    suggestion = get_or_404(session, Suggestion, suggestion_id)
    show(session, [suggestion])
    return suggestion


def _lock(session: Session, suggestion: Suggestion) -> Transaction:
    # Transaction first, as apply_match does: one lock order, no deadlock with a run.
    txn = allocations.lock_transaction(session, suggestion.transaction_id)
    session.refresh(suggestion)
    if suggestion.status != "open":
        raise Conflict(
            f"This suggestion is {suggestion.status}; only an open suggestion can be decided.",
            code="suggestion_not_open",
        )
    return txn


def _decide(suggestion: Suggestion, status: str, actor: str) -> None:
    suggestion.status = status
    suggestion.decided_at = utcnow()
    suggestion.decided_by = actor


def _lines(suggestion: Suggestion) -> list[tuple[str, int]]:
    return [(line["invoice_id"], int(line["amount"])) for line in suggestion.allocations]


def _charges(suggestion: Suggestion) -> dict[str, int]:
    return {
        line["invoice_id"]: int(line["charge"])
        for line in suggestion.allocations
        if line.get("charge")
    }


def accept_suggestion(*, session: Session, suggestion: Suggestion, actor: str) -> Suggestion:
    """Apply an open suggestion as a match re-checked now; learn the payer.

    When its amounts no longer fit (paid meanwhile, voided, ignored) the suggestion is
    expired and ``SuggestionExpired`` raised; the caller keeps that change.
    """
    txn = _lock(session, suggestion)
    lines = _lines(suggestion)
    try:
        match = allocations.apply_match(
            session=session,
            transaction_id=txn.id,
            allocations=lines,
            method="suggestion",
            created_by=actor,
            confidence=suggestion.confidence,
            reasons=suggestion.reasons or [],
            suggestion_id=suggestion.id,
            charges=_charges(suggestion),
        )
    except PayymoError as exc:
        _decide(suggestion, "expired", actor)
        session.flush()
        raise SuggestionExpired(
            f"This suggestion no longer fits and has been expired: {exc.message}",
            param=exc.param,
        ) from exc
    # apply_match expires the transaction's open suggestions once it is fully matched,
    # this one included; the person's decision is what this one records.
    _decide(suggestion, "accepted", actor)
    suggestion.match_id = match.id
    invoices = session.scalars(select(Invoice).where(Invoice.id.in_([i for i, _ in lines])))
    payer_memory.learn(session, transaction=txn, invoices=invoices)
    session.flush()
    show(session, [suggestion])
    return suggestion


def reject_suggestion(*, session: Session, suggestion: Suggestion, actor: str) -> Suggestion:
    """Reject an open suggestion; its pairs are blocked and never suggested again."""
    txn = _lock(session, suggestion)
    _decide(suggestion, "rejected", actor)
    blocked = set(suggestion.invoice_ids or [i for i, _ in _lines(suggestion)])
    allocations.block_pairs(session, txn.id, sorted(blocked), "rejected")
    still_open = 0
    for other in session.scalars(
        select(Suggestion).where(
            Suggestion.transaction_id == txn.id,
            Suggestion.status == "open",
            Suggestion.id != suggestion.id,
        )
    ):
        # Another suggestion naming a blocked pair would be suggesting it again.
        if blocked.intersection(other.invoice_ids or []):
            _decide(other, "expired", actor)
        else:
            still_open += 1
    if txn.match_status == "suggested" and not still_open:
        txn.match_status = "unmatched"
        txn.updated_at = utcnow()
    session.flush()
    show(session, [suggestion])
    return suggestion
