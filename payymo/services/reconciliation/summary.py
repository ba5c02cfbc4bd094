"""Where reconciliation stands: credits by match status, matches by method, open invoices.

Amounts are grouped by currency and never added across currencies; counts may be. Read
from the rollups (``services.rollups``): the cost does not grow with the tenant.
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from payymo.models.reconciliation import MATCH_METHODS
from payymo.models.transaction import MATCH_STATUSES
from payymo.services.rollups import read as rollups
from payymo.services.rollups.definitions import AUTO_CREDITS

_OPEN_INVOICE_STATUSES = ("open", "partially_paid")


def _empty(statuses, currency: str) -> dict:
    # Each part carries its currency, which its display amount needs.
    return {status: {"count": 0, "amount": 0, "currency": currency} for status in statuses}


def _credits(session: Session) -> tuple[list[dict], int, int]:
    """Per-currency credit buckets, the number of credits, and of credits not ignored."""
    by_currency: dict[str, dict] = {}
    total = ignored = 0
    found = rollups.groups(
        session,
        "transactions",
        by=("currency", "detail"),
        where=lambda model: [model.direction == "in"],
    )
    for currency, status, count, amount, allocated in found:
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
    for method, status, count, _amount, _allocated in rollups.groups(
        session, "matches", by=("detail", "status")
    ):
        counts[status] = counts.get(status, 0) + count
        if status == "active":
            counts[method] = counts.get(method, 0) + count
    auto_credits, _amount, _allocated = rollups.total(session, AUTO_CREDITS)
    return counts, auto_credits


def _open_invoices(session: Session) -> list[dict]:
    found = rollups.groups(
        session,
        "invoices",
        by=("currency", "status"),
        where=lambda model: [model.status.in_(_OPEN_INVOICE_STATUSES)],
    )
    by_currency: dict[str, dict] = {}
    for currency, status, count, remaining, _allocated in found:
        bucket = by_currency.setdefault(
            currency,
            {"currency": currency, "count": 0, "amount_remaining": 0}
            | _empty(_OPEN_INVOICE_STATUSES, currency),
        )
        bucket["count"] += count
        bucket["amount_remaining"] += remaining
        bucket[status] = {"count": count, "amount": remaining, "currency": currency}
    return [by_currency[c] for c in sorted(by_currency)]


def _rate(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


def summary(*, session: Session) -> dict:
    """Counts and per-currency amounts of credits, matches, suggestions and open invoices."""
    credits, credit_count, matchable = _credits(session)
    matches, auto_credits = _matches(session)
    open_invoices = _open_invoices(session)
    open_suggestions, _amount, _allocated = rollups.total(
        session, "suggestions", where=lambda model: [model.status == "open"]
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
