"""Match and suggestion documents: the API's answers and the reconciliation events' objects."""

from __future__ import annotations

from payymo.money import to_display
from payymo.representations import iso


def _reasons(reasons) -> list[dict]:
    """Stored reasons are dicts; a run's fresh ones are ``Reason`` objects."""
    return [
        {"code": r["code"], "text": r["text"]}
        if isinstance(r, dict)
        else {"code": r.code, "text": r.text}
        for r in reasons or ()
    ]


def _confidence(value) -> float | None:
    return None if value is None else float(value)


def allocation_line(line, currency: str, invoice) -> dict:
    """One allocation line with the invoice as it is now (``invoice`` may be None)."""
    amount, charge = line.amount, line.charge
    remaining = None if invoice is None else invoice.amount_remaining
    return {
        "invoice_id": line.invoice_id,
        "invoice_number": None if invoice is None else invoice.number,
        "customer_name": None if invoice is None else invoice.customer_name,
        "amount": amount,
        "amount_display": to_display(amount, currency),
        "charge": charge,
        "charge_display": to_display(charge, currency),
        "invoice_amount_remaining": remaining,
        "invoice_amount_remaining_display": (
            None if remaining is None else to_display(remaining, currency)
        ),
    }


def payout_line(line) -> dict:
    """A match's payout line: the Stripe payout this bank credit is."""
    payout = line.payout
    return {
        "payout_id": line.payout_id,
        "stripe_id": payout.stripe_id,
        "amount": line.amount,
        "amount_display": to_display(line.amount, line.currency),
        "arrival_date": iso(payout.arrival_date),
        "status": line.status,
    }


def match(m) -> dict:
    """A match as the API and events show it (its lines carry their ``invoice``).

    Its target is either invoices (``allocations``) or a Stripe payout (``payouts``).
    """
    currency = m.currency
    return {
        "object": "match",
        "id": m.id,
        "transaction_id": m.transaction_id,
        "allocations": [
            allocation_line(line, line.currency, getattr(line, "invoice", None))
            for line in m.allocations
        ],
        "payouts": [payout_line(line) for line in getattr(m, "payout_lines", ())],
        "amount": m.amount,
        "amount_display": to_display(m.amount, currency),
        "currency": currency,
        "method": m.method,
        "confidence": _confidence(m.confidence),
        "reasons": _reasons(m.reasons),
        "status": m.status,
        "created_by": m.created_by,
        "created_at": iso(m.created_at),
        "reversed_at": iso(m.reversed_at),
        "reversed_by": m.reversed_by,
        "suggestion_id": m.suggestion_id,
    }


class _Line:
    """A suggestion line (a stored dict, or an object) read like an allocation."""

    __slots__ = ("amount", "charge", "invoice_id")

    def __init__(self, line) -> None:
        if isinstance(line, dict):
            self.invoice_id, self.amount = line["invoice_id"], line["amount"]
            self.charge = line.get("charge", 0)
        else:
            self.invoice_id, self.amount = line.invoice_id, line.amount
            self.charge = getattr(line, "charge", 0)


def suggestion(s) -> dict:
    """A suggestion as the API and events show it (``shown_invoices`` gives the invoices)."""
    currency = s.currency
    invoices = getattr(s, "shown_invoices", None) or {}
    lines = s.allocations
    return {
        "object": "suggestion",
        "id": s.id,
        "transaction_id": s.transaction_id,
        "allocations": None
        if lines is None
        else [
            allocation_line(read, currency, invoices.get(read.invoice_id))
            for read in map(_Line, lines)
        ],
        "currency": currency,
        "confidence": _confidence(s.confidence),
        "reasons": _reasons(s.reasons),
        "status": s.status,
        "rank": s.rank,
        "created_at": iso(s.created_at),
        "decided_at": iso(s.decided_at),
        "decided_by": s.decided_by,
        "match_id": s.match_id,
    }
