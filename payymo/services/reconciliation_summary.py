"""Where reconciliation stands: credits by match status, matches by method, open invoices.

Amounts are grouped by currency and never added across currencies; counts may be.
"""

from __future__ import annotations

from sqlalchemy import distinct, func, select
from sqlalchemy.orm import Session

from payymo.models import Invoice, Match, Suggestion, Transaction
from payymo.models.reconciliation import MATCH_METHODS
from payymo.models.transaction import MATCH_STATUSES

_OPEN_INVOICE_STATUSES = ("open", "partially_paid")


def _empty(statuses, currency: str) -> dict:
    # Each part carries its currency, which its display amount needs.
    return {status: {"count": 0, "amount": 0, "currency": currency} for status in statuses}


def _credits(session: Session) -> tuple[list[dict], int, int]:
    """Per-currency credit buckets, the number of credits, and of credits not ignored."""
    stmt = (
        select(
            Transaction.currency,
            Transaction.match_status,
            func.count(),
            func.sum(Transaction.amount),
            func.sum(Transaction.amount_allocated),
        )
        .where(Transaction.amount > 0)
        .group_by(Transaction.currency, Transaction.match_status)
    )
    by_currency: dict[str, dict] = {}
    total = ignored = 0
    for currency, status, count, amount, allocated in session.execute(stmt):
        count, amount, allocated = int(count), int(amount or 0), int(allocated or 0)
        bucket = by_currency.setdefault(
            currency,
            {"currency": currency, "count": 0, "amount": 0, "amount_allocated": 0}
            | _empty(MATCH_STATUSES, currency),
        )
        bucket["count"] += count
        bucket["amount"] += amount
        bucket["amount_allocated"] += allocated
        bucket[status]["count"] += count
        bucket[status]["amount"] += amount
        total += count
        ignored += count if status == "ignored" else 0
    rows = [by_currency[c] for c in sorted(by_currency)]
    for row in rows:
        row["amount_unallocated"] = row["amount"] - row["amount_allocated"]
    return rows, total, total - ignored


def _matches(session: Session) -> tuple[dict, int]:
    """Match counts by method and status, and how many credits have a live auto match."""
    counts = {"active": 0, "reversed": 0} | {method: 0 for method in MATCH_METHODS}
    stmt = select(Match.method, Match.status, func.count()).group_by(Match.method, Match.status)
    for method, status, count in session.execute(stmt):
        counts[status] = counts.get(status, 0) + int(count)
        if status == "active":
            counts[method] = counts.get(method, 0) + int(count)
    auto_credits = session.scalar(
        select(func.count(distinct(Match.transaction_id))).where(
            Match.method == "auto", Match.status == "active"
        )
    )
    return counts, int(auto_credits or 0)


def _open_invoices(session: Session) -> list[dict]:
    stmt = (
        select(
            Invoice.currency,
            Invoice.status,
            func.count(),
            func.sum(Invoice.amount_due - Invoice.amount_paid - Invoice.amount_charged),
        )
        .where(Invoice.status.in_(_OPEN_INVOICE_STATUSES))
        .group_by(Invoice.currency, Invoice.status)
    )
    by_currency: dict[str, dict] = {}
    for currency, status, count, remaining in session.execute(stmt):
        bucket = by_currency.setdefault(
            currency,
            {"currency": currency, "count": 0, "amount_remaining": 0}
            | _empty(_OPEN_INVOICE_STATUSES, currency),
        )
        bucket["count"] += int(count)
        bucket["amount_remaining"] += int(remaining or 0)
        bucket[status] = {"count": int(count), "amount": int(remaining or 0), "currency": currency}
    return [by_currency[c] for c in sorted(by_currency)]


def _rate(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


def summary(*, session: Session) -> dict:
    """Counts and per-currency amounts of credits, matches, suggestions and open invoices."""
    credits, credit_count, matchable = _credits(session)
    matches, auto_credits = _matches(session)
    open_invoices = _open_invoices(session)
    open_suggestions = session.scalar(
        select(func.count(Suggestion.id)).where(Suggestion.status == "open")
    )
    return {
        "credit_count": credit_count,
        "credits": credits,
        "matches": matches,
        "auto_match_rate": _rate(matches["auto"], matches["active"]),
        "auto_matched_credit_rate": _rate(auto_credits, matchable),
        "open_suggestions": int(open_suggestions or 0),
        "open_invoice_count": sum(row["count"] for row in open_invoices),
        "open_invoices": open_invoices,
    }
