"""Stripe payments as lines of a clearing account, and the matches that pay invoices.

A payment that succeeded is money in the tenant's Stripe balance: one credit line in a
``stripe`` bank account of its currency. When it names an invoice (its metadata's
``invoice_id``), the line is matched to that invoice (method ``stripe``) through the same
locked allocation path as any match, so the invoice is paid or partly paid and says so in
its events. A refund re-matches what is left (in proportion: only the money kept pays the
invoice); a full refund or a lost dispute reverses the match. A dispute also flags the
invoice (its ``dispute_status``) until, and as, it closes. Later, the payout that
empties the balance explains the bank credit it became.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from payymo import events
from payymo.db import utcnow
from payymo.ids import new_id
from payymo.models import BankAccount, Invoice, Match, StripePayment, Transaction
from payymo.representations.invoices import invoice as invoice_document
from payymo.representations.transactions import transaction as transaction_document
from payymo.services.allocations import apply_match, reverse_match

ACTOR = "stripe"


def clearing_account(session: Session, currency: str) -> BankAccount:
    """The tenant's Stripe clearing account in ``currency`` (created on first use)."""
    found = session.scalars(
        select(BankAccount).where(BankAccount.kind == "stripe", BankAccount.currency == currency)
    ).first()
    if found is None:
        found = BankAccount(kind="stripe", name=f"Stripe balance ({currency})", currency=currency)
        session.add(found)
        session.flush()
    return found


def _line(session: Session, payment: StripePayment) -> Transaction:
    account = clearing_account(session, payment.currency)
    now = utcnow()
    line = Transaction(
        id=new_id("txn"),
        account_id=account.id,
        dedupe_key=f"stripe:{payment.stripe_id}",
        provider_id=payment.stripe_id,
        status="booked",
        booking_date=payment.stripe_created.date(),
        value_date=payment.stripe_created.date(),
        amount=payment.amount_received,
        currency=payment.currency,
        counterparty_name=payment.customer or "Stripe customer",
        remittance_information=payment.description,
        end_to_end_id=payment.charge_id,
        match_status="unmatched",
        amount_allocated=0,
        created_at=now,
        updated_at=now,
    )
    session.add(line)
    session.flush()
    events.emit(session, "transaction.created", {"object": transaction_document(line)})
    return line


def _kept(payment: StripePayment) -> int:
    if payment.dispute_status == "lost":
        return 0
    return max(payment.amount_received - payment.amount_refunded, 0)


def settle(session: Session, payment: StripePayment) -> None:
    """Bring the payment's line and match in line with what Stripe says it is now."""
    if payment.status != "succeeded" or payment.amount_received <= 0:
        return
    if payment.transaction_id is None:
        payment.transaction_id = _line(session, payment).id
    current = session.get(Match, payment.match_id) if payment.match_id else None
    live = current is not None and current.status == "active"
    wanted = _wanted_amount(session, payment, current if live else None)
    if live and current.amount == wanted:
        return
    if live:
        reverse_match(session=session, match=current, reversed_by=ACTOR)
        payment.match_id = None
    if wanted > 0:
        match = apply_match(
            session=session,
            transaction_id=payment.transaction_id,
            allocations=[(payment.invoice_id, wanted)],
            method="stripe",
            created_by=ACTOR,
            reasons=[
                {
                    "code": "stripe_payment",
                    "text": f"Paid through Stripe ({payment.stripe_id}) for this invoice.",
                }
            ],
        )
        payment.match_id = match.id
    session.flush()


def flag_invoice(session: Session, payment: StripePayment) -> None:
    """Show the payment's dispute on its invoice (``invoice.updated`` when it changes)."""
    if payment.invoice_id is None:
        return
    invoice = session.scalars(
        select(Invoice)
        .where(Invoice.id == payment.invoice_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    ).one()
    if invoice.dispute_status == payment.dispute_status:
        return
    previous = invoice.dispute_status
    invoice.dispute_status = payment.dispute_status
    invoice.updated_at = utcnow()
    session.flush()
    events.emit(
        session,
        "invoice.updated",
        {
            "object": invoice_document(invoice),
            "previous_attributes": {"dispute_status": previous},
        },
    )


def _wanted_amount(session: Session, payment: StripePayment, live: Match | None) -> int:
    """What the payment should allocate to its invoice: the money kept, up to what the
    invoice owes (counting this payment's own live allocation as not owed)."""
    if payment.invoice_id is None:
        return 0
    invoice = session.get(Invoice, payment.invoice_id)
    if invoice is None or invoice.status == "void":
        return 0
    owed = invoice.amount_remaining + (live.amount if live is not None else 0)
    return max(min(_kept(payment), owed), 0)
