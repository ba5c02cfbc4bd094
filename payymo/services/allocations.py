"""Write and reverse matches: the one place invoice and transaction amounts change.

Every change locks the transaction, then its invoices in id order, re-reads them, and
re-checks the amounts: two runs (or a run and a person) racing for one invoice can
never allocate it beyond its amount due. ``apply_match`` writes one match through the
ORM; ``apply_matches`` writes many (a reconcile run's chunk) through a ``ChunkWriter``,
with the same checks, amounts, statuses and events.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session

from payymo import events, money
from payymo.db import utcnow
from payymo.errors import Conflict, InvalidRequest, NotFound, PayymoError
from payymo.ids import new_id
from payymo.matching.types import Candidate
from payymo.models import (
    Allocation,
    BankAccount,
    Invoice,
    Match,
    MatchBlock,
    PayoutAllocation,
    StripePayout,
    Suggestion,
    Transaction,
)
from payymo.representations.invoices import invoice as invoice_document
from payymo.representations.reconciliation import match as match_document
from payymo.services.invoices import derive_status
from payymo.services.reconciliation.write import ChunkWriter, row_view

_INVOICE_EVENTS = {"paid": "invoice.paid", "partially_paid": "invoice.partially_paid"}


def lock_transaction(session: Session, transaction_id: str) -> Transaction:
    """Re-read a transaction under a row lock (FOR UPDATE on PostgreSQL)."""
    txn = session.scalars(
        select(Transaction)
        .where(Transaction.id == transaction_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    ).one_or_none()
    if txn is None:
        raise NotFound(f"No such transaction: '{transaction_id}'", param="transaction_id")
    return txn


def _lock_invoices(session: Session, invoice_ids: Sequence[str]) -> dict[str, Invoice]:
    rows = session.scalars(
        select(Invoice)
        .where(Invoice.id.in_(sorted(set(invoice_ids))))
        .order_by(Invoice.id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    return {inv.id: inv for inv in rows}


def transaction_match_status(txn: Transaction) -> str:
    """matched, partially_matched or unmatched, from its allocated amount."""
    if txn.amount_allocated <= 0:
        return "unmatched"
    return "matched" if txn.amount_allocated >= txn.amount else "partially_matched"


def _check(
    txn: Transaction,
    allocations: Sequence[tuple[str, int]],
    invoices: dict,
    charges: Mapping[str, int] | None = None,
) -> None:
    if txn.amount <= 0:
        raise InvalidRequest(
            "Only money in (a credit) can pay invoices.",
            param="transaction_id",
            code="transaction_not_credit",
        )
    if txn.match_status == "ignored":
        raise Conflict("This transaction is ignored.", param="transaction_id", code="ignored")
    if not allocations:
        raise InvalidRequest("Give at least one allocation.", param="allocations")
    seen: set[str] = set()
    for i, (invoice_id, amount) in enumerate(allocations):
        param = f"allocations[{i}]"
        invoice = invoices.get(invoice_id)
        if invoice is None:
            raise NotFound(f"No such invoice: '{invoice_id}'", param=f"{param}.invoice_id")
        if invoice_id in seen:
            raise InvalidRequest(
                "An invoice appears twice.", param=f"{param}.invoice_id", code="duplicate"
            )
        seen.add(invoice_id)
        if invoice.status == "void":
            raise Conflict(
                f"Invoice {invoice_id} is void.", param=f"{param}.invoice_id", code="invoice_void"
            )
        if invoice.currency != txn.currency:
            raise InvalidRequest(
                f"Invoice {invoice_id} is in {invoice.currency}, the transaction in {txn.currency}.",
                param=f"{param}.invoice_id",
                code="currency_mismatch",
            )
        if amount <= 0 or amount > invoice.amount_remaining:
            raise InvalidRequest(
                f"Invoice {invoice_id} has {invoice.amount_remaining} open; cannot allocate {amount}.",
                param=f"{param}.amount",
                code="amount_exceeds_open",
            )
        charge = charges.get(invoice_id, 0) if charges else 0
        if charge < 0 or amount + charge > invoice.amount_remaining:
            raise InvalidRequest(
                f"Invoice {invoice_id} has {invoice.amount_remaining} open; cannot allocate "
                f"{amount} and write off a charge of {charge}.",
                param=f"{param}.charge",
                code="charge_exceeds_open",
            )
    total = sum(amount for _, amount in allocations)
    unallocated = txn.amount - txn.amount_allocated
    if total > unallocated:
        raise InvalidRequest(
            f"The allocations add up to {total} but only {unallocated} of the transaction is "
            "unallocated.",
            param="allocations",
            code="amount_exceeds_transaction",
        )


def _pay(invoice: Invoice, amount: int, charge: int = 0) -> tuple[int, int]:
    """Add ``amount`` paid and ``charge`` written off (negative: take back); the old pair."""
    previous = invoice.amount_paid, invoice.amount_charged
    invoice.amount_paid += amount
    invoice.amount_charged += charge
    invoice.status = derive_status(
        amount_due=invoice.amount_due,
        amount_paid=invoice.amount_paid,
        amount_charged=invoice.amount_charged,
        voided=invoice.status == "void",
    )
    return previous


def _book(txn, amount: int) -> None:
    txn.amount_allocated += amount
    txn.match_status = transaction_match_status(txn)


def _invoice_event_args(invoice: Invoice, previous: tuple[int, int]) -> tuple[str, dict]:
    kind = _INVOICE_EVENTS.get(invoice.status, "invoice.updated")
    paid, charged = previous
    before = {
        "amount_paid": paid,
        "amount_paid_display": money.to_display(paid, invoice.currency),
    }
    if charged != invoice.amount_charged:
        before["amount_charged"] = charged
        before["amount_charged_display"] = money.to_display(charged, invoice.currency)
    data = {"object": invoice_document(invoice), "previous_attributes": before}
    return kind, data


def _invoice_event(session: Session, invoice: Invoice, previous: tuple[int, int]) -> None:
    events.emit(session, *_invoice_event_args(invoice, previous))


def expire_suggestion(suggestion: Suggestion, now, actor: str) -> None:
    """Mark an open suggestion expired, by whom and when."""
    suggestion.status = "expired"
    suggestion.decided_at = now
    suggestion.decided_by = actor


def apply_match(
    *,
    session: Session,
    transaction_id: str,
    allocations: Sequence[tuple[str, int]],
    method: str,
    created_by: str,
    confidence: float | None = None,
    reasons: Sequence[dict] = (),
    suggestion_id: str | None = None,
    charges: Mapping[str, int] | None = None,
) -> Match:
    """Allocate a transaction to invoices after re-checking every amount under locks.

    ``charges`` (invoice id → minor units) are written off as bank charges beside the
    money allocated: they settle the invoice, the transaction never gives them.
    """
    charges = charges or {}
    txn = lock_transaction(session, transaction_id)
    invoices = _lock_invoices(session, [invoice_id for invoice_id, _ in allocations])
    _check(txn, allocations, invoices, charges)
    now = utcnow()
    total = sum(amount for _, amount in allocations)
    match = Match(
        id=new_id("mat"),
        transaction_id=txn.id,
        method=method,
        status="active",
        amount=total,
        currency=txn.currency,
        confidence=confidence,
        reasons=list(reasons),
        created_by=created_by,
        created_at=now,
        suggestion_id=suggestion_id,
    )
    session.add(match)
    for invoice_id, amount in allocations:
        invoice = invoices[invoice_id]
        session.add(
            Allocation(
                id=new_id("alc"),
                match=match,
                transaction_id=txn.id,
                invoice_id=invoice_id,
                amount=amount,
                charge=charges.get(invoice_id, 0),
                currency=txn.currency,
                status="active",
                created_at=now,
            )
        )
        previous = _pay(invoice, amount, charges.get(invoice_id, 0))
        invoice.updated_at = now
        _invoice_event(session, invoice, previous)
    _book(txn, total)
    txn.updated_at = now
    if txn.match_status == "matched":
        _expire_open_suggestions(session, txn.id, now, created_by)
    session.flush()
    events.emit(session, "transaction.matched", {"object": match_document(match)})
    return match


def _expire_open_suggestions(session: Session, transaction_id: str, now, actor: str) -> None:
    for suggestion in session.scalars(
        select(Suggestion).where(
            Suggestion.transaction_id == transaction_id, Suggestion.status == "open"
        )
    ):
        expire_suggestion(suggestion, now, actor)


def block_pairs(session: Session, transaction_id: str, invoice_ids, reason: str) -> None:
    """Remember pairs never to match or suggest again (idempotent)."""
    existing = set(
        session.scalars(
            select(MatchBlock.invoice_id).where(
                MatchBlock.transaction_id == transaction_id,
                MatchBlock.invoice_id.in_(list(invoice_ids)),
            )
        )
    )
    for invoice_id in dict.fromkeys(invoice_ids):
        if invoice_id not in existing:
            session.add(
                MatchBlock(transaction_id=transaction_id, invoice_id=invoice_id, reason=reason)
            )


def lock_payouts_of(session: Session, match: Match) -> dict[str, StripePayout]:
    """Lock the payouts a match explains its credit by (taken before its transaction)."""
    ids = sorted({line.payout_id for line in match.payout_lines})
    if not ids:
        return {}
    rows = session.scalars(
        select(StripePayout)
        .where(StripePayout.id.in_(ids))
        .order_by(StripePayout.id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    return {row.id: row for row in rows}


def _check_payout(session: Session, txn: Transaction, payout: StripePayout) -> None:
    if payout.status not in ("paid", "in_transit"):
        raise Conflict(
            f"The payout is {payout.status}: only a paid or in-transit payout reaches the bank.",
            code="payout_not_paid",
        )
    if payout.bank_transaction_id is not None:
        raise Conflict(
            f"The payout is already matched to {payout.bank_transaction_id}.",
            code="payout_matched",
        )
    if txn.amount <= 0:
        raise InvalidRequest(
            "Only money in (a credit) can be a payout.",
            param="transaction_id",
            code="transaction_not_credit",
        )
    if txn.match_status == "ignored":
        raise Conflict("This transaction is ignored.", param="transaction_id", code="ignored")
    if session.get(BankAccount, txn.account_id).kind == "stripe":
        raise InvalidRequest(
            "This line is in the Stripe balance itself, not a bank account.",
            param="transaction_id",
            code="transaction_not_bank",
        )
    if txn.amount_allocated != 0:
        raise Conflict(
            "This transaction is already matched.",
            param="transaction_id",
            code="transaction_matched",
        )
    if payout.currency != txn.currency or payout.amount != txn.amount:
        raise InvalidRequest(
            f"The payout is {money.to_display(payout.amount, payout.currency)} "
            f"{payout.currency}; the transaction {money.to_display(txn.amount, txn.currency)} "
            f"{txn.currency}. A payout reaches the bank as one credit of exactly its amount.",
            param="transaction_id",
            code="amount_mismatch",
        )


def apply_payout_match(
    *,
    session: Session,
    payout_id: str,
    transaction_id: str,
    method: str,
    created_by: str,
    confidence: float | None = None,
    reasons: Sequence[dict] = (),
) -> Match:
    """Match a bank credit to the Stripe payout it is, re-checked under locks (payout first)."""
    payout = session.scalars(
        select(StripePayout)
        .where(StripePayout.id == payout_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    ).one_or_none()
    if payout is None:
        raise NotFound(f"No such payout: '{payout_id}'", param="payout_id")
    txn = lock_transaction(session, transaction_id)
    _check_payout(session, txn, payout)
    now = utcnow()
    match = Match(
        id=new_id("mat"),
        transaction_id=txn.id,
        method=method,
        status="active",
        amount=txn.amount,
        currency=txn.currency,
        confidence=confidence,
        reasons=list(reasons),
        created_by=created_by,
        created_at=now,
    )
    session.add(match)
    session.add(
        PayoutAllocation(
            id=new_id("pal"),
            match=match,
            transaction_id=txn.id,
            payout_id=payout.id,
            amount=txn.amount,
            currency=txn.currency,
            status="active",
            created_at=now,
        )
    )
    payout.bank_transaction_id = txn.id
    _book(txn, txn.amount)
    txn.updated_at = now
    _expire_open_suggestions(session, txn.id, now, created_by)
    session.flush()
    events.emit(session, "transaction.matched", {"object": match_document(match)})
    return match


def _unpay_payouts(match: Match, payouts: Mapping[str, StripePayout]) -> None:
    for line in match.payout_lines:
        line.status = "reversed"  # kept: the engine will not pair these two again
        payout = payouts[line.payout_id]
        if payout.bank_transaction_id == line.transaction_id:
            payout.bank_transaction_id = None


def reverse_match(*, session: Session, match: Match, reversed_by: str) -> Match:
    """Reverse a match: history kept, invoices recomputed, the pairs blocked. Idempotent."""
    if match.status == "reversed":
        return match
    payouts = lock_payouts_of(session, match)
    txn = lock_transaction(session, match.transaction_id)
    # Re-read under the lock: a reversal racing this one may have committed meanwhile.
    session.refresh(match)
    if match.status == "reversed":
        return match
    lines = list(match.allocations)
    invoices = _lock_invoices(session, [line.invoice_id for line in lines])
    now = utcnow()
    for line in lines:
        invoice = invoices[line.invoice_id]
        previous = _pay(invoice, -line.amount, -line.charge)
        invoice.updated_at = now
        line.status = "reversed"
        _invoice_event(session, invoice, previous)
    _unpay_payouts(match, payouts)
    _book(txn, -match.amount)
    txn.updated_at = now
    match.status = "reversed"
    match.reversed_at = now
    match.reversed_by = reversed_by
    block_pairs(session, txn.id, [line.invoice_id for line in lines], "reversed")
    session.flush()
    events.emit(session, "match.reversed", {"object": match_document(match)})
    return match


def _record(writer: ChunkWriter, txn, candidate: Candidate, method: str, created_by: str) -> None:
    total = sum(amount for _, amount in candidate.allocations)
    match = {
        "id": new_id("mat"),
        "tenant_id": writer.tenant_id,
        "transaction_id": txn.id,
        "method": method,
        "status": "active",
        "amount": total,
        "currency": txn.currency,
        "confidence": round(candidate.confidence, 4),
        "reasons": [{"code": r.code, "text": r.text} for r in candidate.reasons],
        "created_by": created_by,
        "created_at": writer.now,
        "reversed_at": None,
        "reversed_by": None,
        "suggestion_id": None,
    }
    lines = []
    for invoice_id, amount in candidate.allocations:
        invoice = writer.invoices[invoice_id]
        charge = candidate.charge_for(invoice_id)
        lines.append(
            {
                "id": new_id("alc"),
                "tenant_id": writer.tenant_id,
                "match_id": match["id"],
                "transaction_id": txn.id,
                "invoice_id": invoice_id,
                "amount": amount,
                "charge": charge,
                "currency": txn.currency,
                "status": "active",
                "created_at": writer.now,
            }
        )
        previous = _pay(invoice, amount, charge)
        writer.invoice_changed(invoice)
        writer.event(*_invoice_event_args(invoice, previous))
    _book(txn, total)
    writer.txn_changed(txn)
    writer.matches.append(match)
    writer.lines.extend(lines)
    # Reasons dump as they are; each line shows its invoice as this match leaves it.
    shown = [{**line, "invoice": writer.invoices[line["invoice_id"]]} for line in lines]
    view = row_view(match, allocations=shown, payout_lines=[], reasons=candidate.reasons)
    writer.event("transaction.matched", {"object": match_document(view)})


def apply_matches(
    *,
    session: Session,
    writer: ChunkWriter,
    candidates: Sequence[Candidate],
    method: str,
    created_by: str,
    open_suggestions: Mapping[str, Sequence[Suggestion]],
) -> list[bool]:
    """Record many matches in ``writer`` with ``apply_match``'s rules; per candidate, if written.

    The writer's transactions are already locked; the invoices are locked here. Each
    candidate is checked against the running amounts (two of one batch can never
    over-allocate an invoice either); one that no longer fits is skipped exactly where
    ``apply_match`` raises. A fully matched transaction's open suggestions expire.
    """
    if writer.session is not session:
        raise ValueError("the writer must write through this session")
    writer.lock_invoices(invoice_id for c in candidates for invoice_id, _ in c.allocations)
    written: list[bool] = []
    for candidate in candidates:
        txn = writer.txns.get(candidate.transaction_id)
        try:
            if txn is None:
                raise PayymoError("The transaction is gone.")
            _check(txn, list(candidate.allocations), writer.invoices, dict(candidate.charges))
        except PayymoError:
            written.append(False)
            continue
        _record(writer, txn, candidate, method, created_by)
        if txn.match_status == "matched":  # the same rule as apply_match
            for suggestion in open_suggestions.get(txn.id, ()):
                if suggestion.status == "open":
                    expire_suggestion(suggestion, writer.now, created_by)
        written.append(True)
    return written
