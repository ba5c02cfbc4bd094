"""Payments for invoices through Stripe: create the PaymentIntent, list and read payments."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from integrations.stripe.errors import CardDeclined, Refused, StripeProblem
from payymo.errors import Conflict, InvalidRequest, PaymentDeclined, ProviderError
from payymo.models import Invoice, StripePayment, StripePayout
from payymo.pagination import Page, paginate
from payymo.services.stripe import mirror
from payymo.services.stripe.links import account_of, require_link
from payymo.tenancy import get_or_404


def create_payment(
    *,
    session: Session,
    invoice_id: str,
    amount: int | None = None,
    payment_method_types: list[str] | None = None,
    payment_method: str | None = None,
) -> tuple[StripePayment, str | None]:
    """A PaymentIntent for the invoice's open amount (or ``amount``), idempotent per amount;
    answers the payment and the intent's ``client_secret`` (for Stripe.js).

    With a ``payment_method`` it is confirmed at once (a test card such as
    ``pm_card_visa``); a decline raises ``PaymentDeclined`` with the card's words.
    """
    invoice = get_or_404(session, Invoice, invoice_id, param="invoice_id")
    link = require_link(session)
    if invoice.status in ("paid", "void"):
        raise Conflict(f"The invoice is {invoice.status}: nothing to pay.", code="invoice_settled")
    open_amount = invoice.amount_remaining
    amount = open_amount if amount is None else amount
    if not 0 < amount <= open_amount:
        raise InvalidRequest(
            f"amount must be between 1 and the invoice's open amount ({open_amount}).",
            param="amount",
        )
    params = {
        "amount": amount,
        "currency": invoice.currency.lower(),
        "metadata": {"invoice_id": invoice.id, "invoice_number": invoice.number},
        "description": f"Invoice {invoice.number}",
        "payment_method_types": payment_method_types or ["card"],
    }
    if payment_method:
        params |= {"payment_method": payment_method, "confirm": True}
    # One intent per invoice, amount and method: a retried request gets the same one.
    key = f"payymo:{invoice.id}:{amount}:{payment_method or '-'}"
    stripe = account_of(link)
    try:
        intent = stripe.create_payment_intent(params, idempotency_key=key)
    except CardDeclined as exc:
        if exc.payment_intent:
            mirror.refresh_payment(session, stripe, exc.payment_intent)
        raise PaymentDeclined(
            f"The card was declined: {exc.message}", code=exc.decline_code or "card_declined"
        ) from None
    except Refused as exc:
        raise InvalidRequest(f"Stripe refused the payment: {exc.message}") from None
    except StripeProblem as exc:
        raise ProviderError(f"Stripe could not take the payment now: {exc.message}") from None
    row = mirror.refresh_payment(session, stripe, intent["id"], intent=intent)
    return row, intent.get("client_secret")


def list_payments(*, session: Session, filters: dict, page: dict) -> Page:
    """The tenant's Stripe payments, newest first."""
    stmt = select(StripePayment)
    for name in ("status", "invoice_id", "customer"):
        if filters.get(name):
            stmt = stmt.where(getattr(StripePayment, name) == filters[name])
    if filters.get("created_from"):
        stmt = stmt.where(StripePayment.stripe_created >= filters["created_from"])
    if filters.get("created_to"):
        stmt = stmt.where(StripePayment.stripe_created < filters["created_to"])
    return paginate(session, stmt, StripePayment, prefix="spay", **page)


def get_payment(*, session: Session, payment_id: str) -> StripePayment:
    """One of the tenant's Stripe payments, or ``NotFound``."""
    return get_or_404(session, StripePayment, payment_id)


def list_payouts(*, session: Session, filters: dict, page: dict) -> Page:
    """The tenant's Stripe payouts, newest first."""
    stmt = select(StripePayout)
    if filters.get("status"):
        stmt = stmt.where(StripePayout.status == filters["status"])
    return paginate(session, stmt, StripePayout, prefix="spo", **page)


def get_payout(*, session: Session, payout_id: str) -> StripePayout:
    """One of the tenant's Stripe payouts, or ``NotFound``."""
    return get_or_404(session, StripePayout, payout_id)
