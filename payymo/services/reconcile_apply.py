"""Automatic matches of one chunk, with exactly ``allocations.apply_match``'s rules.

``apply_match`` locks, re-reads and flushes per match: about nine statements each, far
too slow for a run of 100,000 credits. Here the chunk's transactions are already
locked; the invoices its candidates pay are locked in one statement; each candidate is
checked by ``allocations``' own ``_check`` against the running amounts (so two
candidates of one chunk can never over-allocate an invoice either) and recorded in the
``ChunkWriter``: the same rows, statuses and event payloads ``apply_match`` writes.
"""

from __future__ import annotations

from collections.abc import Sequence
from types import SimpleNamespace

from payymo.api.invoices.schemas import InvoiceOut
from payymo.api.reconciliation.schemas import MatchOut
from payymo.errors import PayymoError
from payymo.ids import new_id
from payymo.matching.types import Candidate
from payymo.models import Suggestion
from payymo.services import allocations
from payymo.services.invoices import derive_status
from payymo.services.reconcile_write import ENGINE_ACTOR, ChunkWriter, TxnState

_MATCH_OUT = MatchOut()
_INVOICE_OUT = InvoiceOut()
_INVOICE_EVENTS = {"paid": "invoice.paid", "partially_paid": "invoice.partially_paid"}


def _write(writer: ChunkWriter, txn: TxnState, candidate: Candidate) -> None:
    total = sum(amount for _, amount in candidate.allocations)
    match = {
        "id": new_id("mat"),
        "tenant_id": writer.tenant_id,
        "transaction_id": txn.id,
        "method": "auto",
        "status": "active",
        "amount": total,
        "currency": txn.currency,
        "confidence": round(candidate.confidence, 4),
        "reasons": [{"code": r.code, "text": r.text} for r in candidate.reasons],
        "created_by": ENGINE_ACTOR,
        "created_at": writer.now,
        "reversed_at": None,
        "reversed_by": None,
        "suggestion_id": None,
    }
    lines = []
    for invoice_id, amount in candidate.allocations:
        invoice = writer.invoices[invoice_id]
        lines.append(
            {
                "id": new_id("alc"),
                "tenant_id": writer.tenant_id,
                "match_id": match["id"],
                "transaction_id": txn.id,
                "invoice_id": invoice_id,
                "amount": amount,
                "currency": txn.currency,
                "status": "active",
                "created_at": writer.now,
            }
        )
        previous = invoice.amount_paid
        invoice.amount_paid += amount
        invoice.status = derive_status(
            amount_due=invoice.amount_due, amount_paid=invoice.amount_paid, voided=False
        )
        writer.invoice_changed(invoice)
        writer.event(
            _INVOICE_EVENTS.get(invoice.status, "invoice.updated"),
            {
                "object": _INVOICE_OUT.dump(invoice),
                "previous_attributes": {"amount_paid": previous},
            },
        )
    txn.amount_allocated += total
    txn.match_status = allocations.transaction_match_status(txn)
    writer.txn_changed(txn)
    writer.matches.append(match)
    writer.lines.extend(lines)
    view = SimpleNamespace(**match, allocations=[SimpleNamespace(**line) for line in lines])
    writer.event("transaction.matched", {"object": _MATCH_OUT.dump(view)})


def apply_auto_matches(
    writer: ChunkWriter,
    candidates: Sequence[Candidate],
    *,
    open_suggestions: dict[str, list[Suggestion]],
) -> list[bool]:
    """Record each candidate that still fits; returns, per candidate, whether it did.

    A candidate whose amounts no longer fit (a person matched meanwhile) is skipped,
    exactly where ``apply_match`` raises. The transaction's open suggestions expire.
    """
    writer.lock_invoices(invoice_id for c in candidates for invoice_id, _ in c.allocations)
    written: list[bool] = []
    for candidate in candidates:
        txn = writer.txns.get(candidate.transaction_id)
        try:
            if txn is None:
                raise PayymoError("The transaction is gone.")
            allocations._check(txn, list(candidate.allocations), writer.invoices)
        except PayymoError:
            written.append(False)
            continue
        _write(writer, txn, candidate)
        for suggestion in open_suggestions.get(txn.id, ()):
            if suggestion.status == "open":
                suggestion.status = "expired"
                suggestion.decided_at = writer.now
                suggestion.decided_by = ENGINE_ACTOR
        written.append(True)
    return written
