"""The transaction document."""

from __future__ import annotations

from payymo.money import to_display
from payymo.representations import iso


def unallocated(txn) -> int:
    """Part of a credit not (yet) allocated to invoices; 0 for a debit."""
    return max(txn.amount - txn.amount_allocated, 0) if txn.amount > 0 else 0


def transaction(txn) -> dict:
    """The transaction as the API and events show it (any object with its attributes)."""
    amount, allocated, currency = txn.amount, txn.amount_allocated, txn.currency
    # Inline rather than through marshmallow: a bank sync renders 100k of these at once.
    rest = unallocated(txn)
    return {
        "object": "transaction",
        "id": txn.id,
        "account_id": txn.account_id,
        "provider_id": txn.provider_id,
        "status": txn.status,
        "booking_date": iso(txn.booking_date),
        "value_date": iso(txn.value_date),
        "amount": amount,
        "amount_display": to_display(amount, currency),
        "amount_allocated": allocated,
        "amount_allocated_display": to_display(allocated, currency),
        "amount_unallocated": rest,
        "amount_unallocated_display": to_display(rest, currency),
        "currency": currency,
        "counterparty_name": txn.counterparty_name,
        "counterparty_iban": txn.counterparty_iban,
        "remittance_information": txn.remittance_information,
        "end_to_end_id": txn.end_to_end_id,
        "match_status": txn.match_status,
        "ignored": txn.match_status == "ignored",
        "category": txn.category,
        "notes": txn.notes,
        "created_at": iso(txn.created_at),
        "updated_at": iso(txn.updated_at),
    }
