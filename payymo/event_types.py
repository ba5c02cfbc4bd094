"""Every event type Payymo emits, with what it means: subscriptions are checked against it.

The API documents each type's ``data`` (``payymo.api.events.catalog``) and README lists
them; a test holds all three to this list.
"""

from __future__ import annotations

EVENT_TYPES: dict[str, str] = {
    "invoice.created": "An invoice was created (API, batch upsert or CLI).",
    "invoice.updated": "An invoice changed; `previous_attributes` holds the old values.",
    "invoice.partially_paid": "Money was allocated to an invoice and some is still owed.",
    "invoice.paid": "An invoice is paid in full.",
    "invoice.voided": "An invoice was voided.",
    "transaction.created": "A bank transaction arrived (statement import or bank sync).",
    "transaction.updated": "A transaction changed (a pending line booked or expired, "
    "ignored, notes or category edited); `previous_attributes` holds the old values.",
    "transaction.matched": "A transaction was matched to one or more invoices; "
    "`data.object` is the match.",
    "match.reversed": "A match was reversed; the invoices and transaction are open again.",
    "suggestion.created": "Reconciliation proposed a match for a person to accept or reject.",
    "bank_connection.created": "A bank connection was started (the consent link is ready).",
    "bank_connection.updated": "A bank connection changed status, accounts or sync state.",
    "bank_connection.expiring": "A bank connection's consent expires within 7 days.",
    "bank_connection.expired": "A bank connection's consent expired: reconnect it.",
    "stripe_payment.succeeded": "A Stripe payment succeeded; `data.object` is the payment.",
    "stripe_payment.failed": "A Stripe payment failed (the card was declined, …).",
    "refund.created": "A Stripe payment was refunded, in whole or in part.",
    "dispute.created": "A Stripe payment was disputed by the cardholder.",
    "dispute.closed": "A dispute was decided (won or lost); `data.object` is the payment.",
    "stripe_payout.paid": "A Stripe payout was paid out to the bank.",
    "stripe_payout.failed": "A Stripe payout failed (the bank returned it).",
    "webhook_endpoint.disabled": "A webhook endpoint was disabled (its receiver answered "
    "410 Gone, or it failed for 3 days).",
    "webhook.test": "Sent by POST /webhook_endpoints/{id}/test to that endpoint only.",
}
WILDCARD = "*"


def subscribed(patterns: list[str], event_type: str) -> bool:
    """Whether a subscription (types, ``invoice.*`` prefixes, or ``*``) covers a type."""
    for pattern in patterns:
        if pattern in (WILDCARD, event_type):
            return True
        if pattern.endswith(".*") and event_type.startswith(pattern[:-1]):
            return True
    return False


def unknown_patterns(patterns: list[str]) -> list[str]:
    """The patterns that name no event type (a prefix must cover at least one)."""
    return [p for p in patterns if not any(subscribed([p], known) for known in EVENT_TYPES)]
