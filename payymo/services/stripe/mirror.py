"""Keep Payymo's copy of a Stripe payment or payout equal to what Stripe says now.

Events arrive late, twice and out of order, so processing one never trusts its
snapshot: it fetches the object as it is now and writes that, emitting our events for
the changes it sees. Whatever order Stripe's events come in, the end state is the same.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter

from sqlalchemy import select
from sqlalchemy.orm import Session

from integrations.stripe.client import StripeAccount
from payymo import events, money
from payymo.models import (
    Invoice,
    Match,
    PayoutAllocation,
    StripeBalanceTransaction,
    StripePayment,
    StripePayout,
)
from payymo.representations.stripe import payment as payment_document
from payymo.representations.stripe import payout as payout_document
from payymo.services import jobs
from payymo.services.allocations import reverse_match
from payymo.services.stripe import clearing, payout_matching

# Balance transaction types that are money a customer paid (card charges and others).
CHARGE_TYPES = ("charge", "payment")
# Categories the breakdown names; the rest (adjustments, payout reversals…) is "other".
_NAMED = {"charge", "refund", "dispute", "dispute_reversal", "fees", "net"}


def _time(seconds: int | None) -> dt.datetime | None:
    return None if seconds is None else dt.datetime.fromtimestamp(seconds, dt.UTC)


def _currency(code: str) -> str:
    return money.currency_code(code) or code.upper()


def _invoice_id(session: Session, metadata: dict | None) -> str | None:
    wanted = (metadata or {}).get("invoice_id")
    if not wanted:
        return None
    return session.scalars(select(Invoice.id).where(Invoice.id == wanted)).one_or_none()


def _payment_row(session: Session, stripe_id: str) -> StripePayment | None:
    return session.scalars(
        select(StripePayment).where(StripePayment.stripe_id == stripe_id).with_for_update()
    ).one_or_none()


def refresh_payment(
    session: Session, stripe: StripeAccount, intent_id: str, *, intent: dict | None = None
) -> StripePayment:
    """Fetch a PaymentIntent (its charge and fee too) and write it; emits what changed.

    ``intent`` is the PaymentIntent when the caller has just received it from Stripe.
    """
    intent = intent or stripe.retrieve("payment_intents", intent_id)
    charge = (
        stripe.retrieve("charges", intent["latest_charge"]) if intent.get("latest_charge") else None
    )
    balance = None
    if charge and charge.get("balance_transaction"):
        balance = stripe.retrieve("balance_transactions", charge["balance_transaction"])
    invoice_id = _invoice_id(session, intent.get("metadata"))
    row = _payment_row(session, intent["id"])
    before = None if row is None else (row.status, row.amount_refunded, row.dispute_status)
    if row is None:
        row = StripePayment(stripe_id=intent["id"], stripe_created=_time(intent["created"]))
        session.add(row)
    error = intent.get("last_payment_error") or {}
    row.invoice_id = invoice_id
    row.status = intent["status"]
    row.amount = intent["amount"]
    row.amount_received = intent.get("amount_received") or 0
    row.currency = _currency(intent["currency"])
    row.customer = intent.get("customer")
    row.description = intent.get("description")
    row.charge_id = charge["id"] if charge else None
    row.amount_refunded = charge["amount_refunded"] if charge else 0
    row.fee = balance["fee"] if balance else None
    row.net = balance["net"] if balance else None
    row.balance_transaction_id = balance["id"] if balance else None
    row.failure_message = error.get("message")
    row.decline_code = error.get("decline_code")
    session.flush()
    _announce_payment(session, row, before)
    clearing.settle(session, row)
    return row


def set_dispute(session: Session, stripe: StripeAccount, dispute: dict) -> StripePayment | None:
    """Record a dispute's status on its payment (fetched fresh first)."""
    if not dispute.get("payment_intent"):
        return None
    row = refresh_payment(session, stripe, dispute["payment_intent"])
    current = stripe.retrieve("disputes", dispute["id"])
    previous = row.dispute_status
    row.dispute_status = current["status"]
    session.flush()
    clearing.settle(session, row)
    clearing.flag_invoice(session, row)
    if previous is None and current["status"]:
        events.emit(session, "dispute.created", {"object": payment_document(row)})
    if current["status"] in ("won", "lost") and previous != current["status"]:
        events.emit(
            session,
            "dispute.closed",
            {"object": payment_document(row), "previous_attributes": {"dispute_status": previous}},
        )
    return row


def _announce_payment(session: Session, row: StripePayment, before) -> None:
    document = payment_document(row)
    status, refunded = (None, 0) if before is None else before[:2]
    if row.status == "succeeded" and status != "succeeded":
        events.emit(session, "stripe_payment.succeeded", {"object": document})
    if row.status != status and row.failure_message and row.status != "succeeded":
        events.emit(session, "stripe_payment.failed", {"object": document})
    if row.amount_refunded > refunded:
        events.emit(
            session,
            "refund.created",
            {"object": document, "previous_attributes": {"amount_refunded": refunded}},
        )


def refresh_payout(session: Session, stripe: StripeAccount, payout_id: str) -> StripePayout:
    """Fetch a payout and write it; once Stripe has reconciled it, fetch its lines."""
    found = stripe.retrieve("payouts", payout_id)
    row = session.scalars(
        select(StripePayout).where(StripePayout.stripe_id == found["id"]).with_for_update()
    ).one_or_none()
    previous = None if row is None else row.status
    if row is None:
        row = StripePayout(stripe_id=found["id"], stripe_created=_time(found["created"]))
        session.add(row)
    trace = found.get("trace_id") or {}
    row.status = found["status"]
    row.amount = found["amount"]
    row.currency = _currency(found["currency"])
    row.arrival_date = _time(found["arrival_date"]).date()
    row.automatic = bool(found.get("automatic"))
    row.reconciliation_status = found.get("reconciliation_status")
    row.trace_id = trace.get("value") if isinstance(trace, dict) else None
    row.failure_code = found.get("failure_code")
    row.failure_message = found.get("failure_message")
    session.flush()
    if row.breakdown is None:
        if row.automatic and row.reconciliation_status == "completed":
            _store_lines(session, stripe, row, _lines_of_payout(stripe, row), "payout")
        elif not row.automatic and row.status == "paid" and found.get("balance_transaction"):
            lines = _lines_since_previous_payout(stripe, found["balance_transaction"], found)
            _store_lines(session, stripe, row, lines, "between_payouts")
    if row.status == "failed" and row.bank_transaction_id is not None:
        _unmatch_bank_credit(session, row)
    if row.status != previous and row.status in ("paid", "failed"):
        events.emit(
            session,
            f"stripe_payout.{row.status}",
            {"object": payout_document(row), "previous_attributes": {"status": previous}},
        )
    if row.status in payout_matching.OPEN_STATUSES and row.bank_transaction_id is None:
        # Its bank credit may be imported already: the run's payout pass looks for it.
        jobs.request_reconcile(session=session, reason="stripe_payout")
    return row


def _unmatch_bank_credit(session: Session, payout: StripePayout) -> None:
    """A paid payout that failed never stayed in the bank: its credit is not it."""
    for match in session.scalars(
        select(Match)
        .join(PayoutAllocation, PayoutAllocation.match_id == Match.id)
        .where(PayoutAllocation.payout_id == payout.id, PayoutAllocation.status == "active")
    ):
        reverse_match(session=session, match=match, reversed_by=clearing.ACTOR)


def _lines_of_payout(stripe: StripeAccount, payout: StripePayout) -> list[dict]:
    """An automatic payout's balance transactions, as Stripe lists them for it."""
    return [
        line
        for line in stripe.list_all("balance_transactions", {"payout": payout.stripe_id})
        # The payout's own line is what it took out of the balance, not part of it.
        if line["type"] != "payout"
    ]


def _lines_since_previous_payout(stripe: StripeAccount, own_line: str, found: dict) -> list[dict]:
    """A manual payout's balance transactions: those since the payout before it.

    Stripe cannot list a manual payout's lines; the balance between two payouts is what
    the later one paid out. Newest first, from the payout's own line back to the one
    before it (a payout failure gives money back, so its line counts).
    """
    lines: list[dict] = []
    started = False
    for line in stripe.list_all("balance_transactions", {"created": {"lte": found["created"]}}):
        if not started:
            started = line["id"] == own_line
            continue
        if line["type"] == "payout":
            break
        lines.append(line)
    return lines


def _payments_by_charge(
    session: Session, stripe: StripeAccount, lines: list[dict]
) -> dict[str, StripePayment]:
    """The payments the lines' charges belong to, fetched from Stripe when not yet known."""
    sources = {
        line["source"] for line in lines if line["type"] in CHARGE_TYPES and line.get("source")
    }
    known = {
        p.charge_id: p
        for p in session.scalars(select(StripePayment).where(StripePayment.charge_id.in_(sources)))
    }
    for charge_id in sorted(sources - known.keys()):
        intent = stripe.retrieve("charges", charge_id).get("payment_intent")
        if intent:  # a webhook missed, or a payment from before the link
            payment = refresh_payment(session, stripe, intent)
            known[charge_id] = payment
    return known


def _invoices_paid(lines: list[dict], payments: dict[str, StripePayment], session) -> list[dict]:
    """Per invoice, what the payout's charges paid of it (gross, before fees)."""
    paid: dict[str, int] = {}
    for line in lines:
        payment = payments.get(line.get("source"))
        if line["type"] in CHARGE_TYPES and payment is not None and payment.invoice_id:
            paid[payment.invoice_id] = paid.get(payment.invoice_id, 0) + line["amount"]
    numbers = dict(
        session.execute(select(Invoice.id, Invoice.number).where(Invoice.id.in_(paid))).all()
    )
    return [
        {"invoice_id": invoice_id, "invoice_number": numbers.get(invoice_id), "amount": amount}
        for invoice_id, amount in sorted(paid.items())
    ]


def _store_lines(
    session: Session, stripe: StripeAccount, payout: StripePayout, lines: list[dict], source: str
) -> None:
    """Keep the payout's lines and its breakdown; ``source`` says how the lines were found."""
    payments = _payments_by_charge(session, stripe, lines)
    by_source = {
        line["source"]: payments[line["source"]].id
        for line in lines
        if line.get("source") in payments
    }
    totals: Counter[str] = Counter()
    counts: Counter[str] = Counter()
    for line in lines:
        session.add(
            StripeBalanceTransaction(
                stripe_id=line["id"],
                payout_id=payout.id,
                payment_id=by_source.get(line.get("source")),
                type=line["type"],
                reporting_category=line.get("reporting_category"),
                amount=line["amount"],
                fee=line["fee"],
                net=line["net"],
                currency=_currency(line["currency"]),
                source_id=line.get("source"),
                available_on=_time(line.get("available_on")),
            )
        )
        category = line.get("reporting_category") or line["type"]
        totals[category] += line["amount"]
        counts[category] += 1
        totals["fees"] += line["fee"]
        totals["net"] += line["net"]
    payout.breakdown = {
        "charges": totals["charge"],
        "charge_count": counts["charge"],
        "refunds": totals["refund"],
        "refund_count": counts["refund"],
        "disputes": totals["dispute"] + totals["dispute_reversal"],
        "dispute_count": counts["dispute"] + counts["dispute_reversal"],
        "other": sum(v for k, v in totals.items() if k not in _NAMED),
        "fees": totals["fees"],
        "net": totals["net"],
        "invoices": _invoices_paid(lines, payments, session),
    }
    payout.breakdown_source = source
    session.flush()
