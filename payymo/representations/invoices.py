"""The invoice document."""

from __future__ import annotations

from payymo.money import to_display
from payymo.representations import iso


def invoice(inv) -> dict:
    """The invoice as the API and events show it (any object with its attributes)."""
    currency = inv.currency
    due, paid, charged = inv.amount_due, inv.amount_paid, inv.amount_charged
    remaining = inv.amount_remaining
    metadata = inv.metadata_
    # Inline rather than through marshmallow: a reconcile run renders 100k+ of these.
    return {
        "object": "invoice",
        "id": inv.id,
        "external_id": inv.external_id,
        "number": inv.number,
        "customer_name": inv.customer_name,
        "customer_email": inv.customer_email,
        "customer_reference": inv.customer_reference,
        "amount_due": due,
        "amount_paid": paid,
        "amount_charged": charged,
        "amount_remaining": remaining,
        "amount_due_display": to_display(due, currency),
        "amount_paid_display": to_display(paid, currency),
        "amount_charged_display": to_display(charged, currency),
        "amount_remaining_display": to_display(remaining, currency),
        "currency": currency,
        "issue_date": iso(inv.issue_date),
        "due_date": iso(inv.due_date),
        "status": inv.status,
        "dispute_status": inv.dispute_status,
        "metadata": None if metadata is None else dict(metadata),
        "voided_at": iso(inv.voided_at),
        "created_at": iso(inv.created_at),
        "updated_at": iso(inv.updated_at),
    }
