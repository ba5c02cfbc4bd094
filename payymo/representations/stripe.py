"""Stripe documents: the integration, payments and payouts as the API and events show them."""

from __future__ import annotations

from payymo.money import to_display
from payymo.representations import iso


def integration(link, *, webhook_url: str) -> dict:
    """The tenant's Stripe link (None: not linked), never the key itself."""
    return {
        "object": "stripe_integration",
        "status": "not_linked" if link is None else "linked",
        "key_hint": None if link is None else link.key_hint,
        "livemode": None if link is None else link.livemode,
        "webhook_url": webhook_url,
        "linked_at": None if link is None else iso(link.created_at),
        "last_synced_at": None if link is None else iso(link.last_synced_at),
    }


def payment(p) -> dict:
    """A Stripe payment as the API and events show it (amounts in minor units)."""
    currency = p.currency
    net = p.net
    return {
        "object": "stripe_payment",
        "id": p.id,
        "stripe_id": p.stripe_id,
        "invoice_id": p.invoice_id,
        "status": p.status,
        "amount": p.amount,
        "amount_display": to_display(p.amount, currency),
        "amount_received": p.amount_received,
        "amount_received_display": to_display(p.amount_received, currency),
        "amount_refunded": p.amount_refunded,
        "amount_refunded_display": to_display(p.amount_refunded, currency),
        "fee": p.fee,
        "fee_display": None if p.fee is None else to_display(p.fee, currency),
        "net": net,
        "net_display": None if net is None else to_display(net, currency),
        "currency": currency,
        "customer": p.customer,
        "description": p.description,
        "charge_id": p.charge_id,
        "dispute_status": p.dispute_status,
        "failure_message": p.failure_message,
        "decline_code": p.decline_code,
        "stripe_created": iso(p.stripe_created),
        "created_at": iso(p.created_at),
        "updated_at": iso(p.updated_at),
    }


def breakdown(stored: dict | None, currency: str) -> dict | None:
    """A payout's stored breakdown with each amount's display string beside it."""
    if stored is None:
        return None

    def amount(name: str) -> dict:
        value = stored.get(name, 0)
        return {name: value, f"{name}_display": to_display(value, currency)}

    return {
        **amount("charges"),
        "charge_count": stored.get("charge_count", 0),
        **amount("refunds"),
        "refund_count": stored.get("refund_count", 0),
        **amount("disputes"),
        "dispute_count": stored.get("dispute_count", 0),
        **amount("other"),
        **amount("fees"),
        **amount("net"),
        "invoices": [
            {**line, "amount_display": to_display(line["amount"], currency)}
            for line in stored.get("invoices", ())
        ],
    }


def payout(p) -> dict:
    """A Stripe payout with its breakdown (once its lines are known)."""
    currency = p.currency
    return {
        "object": "stripe_payout",
        "id": p.id,
        "stripe_id": p.stripe_id,
        "status": p.status,
        "amount": p.amount,
        "amount_display": to_display(p.amount, currency),
        "currency": currency,
        "arrival_date": iso(p.arrival_date),
        "automatic": p.automatic,
        "reconciliation_status": p.reconciliation_status,
        "trace_id": p.trace_id,
        "failure_code": p.failure_code,
        "failure_message": p.failure_message,
        "breakdown": breakdown(p.breakdown, currency),
        "breakdown_source": p.breakdown_source,
        "bank_transaction_id": p.bank_transaction_id,
        "stripe_created": iso(p.stripe_created),
        "created_at": iso(p.created_at),
        "updated_at": iso(p.updated_at),
    }
