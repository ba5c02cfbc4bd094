"""Which bank credit is a Stripe payout: pure rules, no database.

A payout reaches the bank as one credit of exactly its amount, on or near its arrival
date. The amount and date alone would also fit a customer who happened to pay the same
sum, so one more sign is required: the payout's trace id in the line (the bank's own
reference for it, conclusive), or Stripe named in the payer or the text. Two lines that
fit equally well are left for a person.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable, Sequence
from collections.abc import Set as AbstractSet
from dataclasses import dataclass

from payymo.matching.types import Reason

# Banks book a payout from a day before Stripe's arrival date to a few working days after.
EARLIEST = dt.timedelta(days=2)
LATEST = dt.timedelta(days=5)
TRACE_CONFIDENCE = 0.99
NAMED_CONFIDENCE = 0.95
_STRIPE = re.compile(r"stripe", re.IGNORECASE)
_NOT_ALNUM = re.compile(r"[^0-9A-Z]")


@dataclass(frozen=True, slots=True)
class PayoutIn:
    """What the rules need of a payout."""

    id: str
    amount: int
    currency: str
    arrival_date: dt.date
    trace_id: str | None = None


@dataclass(frozen=True, slots=True)
class CreditIn:
    """What the rules need of an unmatched bank credit."""

    id: str
    amount: int
    currency: str
    booking_date: dt.date | None
    counterparty_name: str | None = None
    remittance_information: str | None = None
    end_to_end_id: str | None = None

    def text(self) -> str:
        """Everything the bank wrote about the line, in one string."""
        parts = (self.counterparty_name, self.remittance_information, self.end_to_end_id)
        return " ".join(part for part in parts if part)


@dataclass(frozen=True, slots=True)
class PayoutChoice:
    """The credit chosen for a payout, how sure, and why."""

    payout_id: str
    transaction_id: str
    confidence: float
    reasons: tuple[Reason, ...]


def window(arrival: dt.date) -> tuple[dt.date, dt.date]:
    """The booking dates a payout arriving on ``arrival`` may carry in the bank."""
    return arrival - EARLIEST, arrival + LATEST


def _squeeze(value: str) -> str:
    return _NOT_ALNUM.sub("", value.upper())


def _carries_trace(credit: CreditIn, trace_id: str | None) -> bool:
    # Banks re-space and re-case references; compare letters and digits only.
    wanted = _squeeze(trace_id or "")
    return len(wanted) >= 6 and wanted in _squeeze(credit.text())


def _fits(payout: PayoutIn, credit: CreditIn) -> bool:
    if credit.amount != payout.amount or credit.currency != payout.currency:
        return False
    if credit.booking_date is None:
        return False
    earliest, latest = window(payout.arrival_date)
    return earliest <= credit.booking_date <= latest


def _closest(payout: PayoutIn, credits: Sequence[CreditIn]) -> CreditIn | None:
    """The one credit nearest the arrival date; None when two are equally near."""
    if not credits:
        return None
    ranked = sorted(credits, key=lambda c: abs((c.booking_date - payout.arrival_date).days))
    if len(ranked) > 1 and abs((ranked[0].booking_date - payout.arrival_date).days) == abs(
        (ranked[1].booking_date - payout.arrival_date).days
    ):
        return None
    return ranked[0]


def _reasons(payout: PayoutIn, credit: CreditIn, by_trace: bool) -> tuple[Reason, ...]:
    days = (credit.booking_date - payout.arrival_date).days
    when = (
        "on the payout's arrival date"
        if days == 0
        else f"{abs(days)} day{'s' if abs(days) != 1 else ''} "
        f"{'after' if days > 0 else 'before'} the payout's arrival date"
    )
    sign = (
        Reason("payout_trace_id", f"The bank line carries the payout's trace id {payout.trace_id}.")
        if by_trace
        else Reason("payout_stripe_named", "The bank line names Stripe.")
    )
    return (
        Reason("payout_amount_exact", "The amount equals the payout's amount exactly."),
        sign,
        Reason("payout_date", f"Booked {when}."),
    )


def choose_credit(payout: PayoutIn, credits: Iterable[CreditIn]) -> PayoutChoice | None:
    """The bank credit that is this payout, or None when none (or no single one) is."""
    fitting = [c for c in credits if _fits(payout, c)]
    traced = [c for c in fitting if _carries_trace(c, payout.trace_id)]
    if len(traced) == 1:
        credit, confidence, by_trace = traced[0], TRACE_CONFIDENCE, True
    else:
        named = traced or [c for c in fitting if _STRIPE.search(c.text())]
        credit, confidence, by_trace = _closest(payout, named), NAMED_CONFIDENCE, bool(traced)
        if credit is None:
            return None
    return PayoutChoice(payout.id, credit.id, confidence, _reasons(payout, credit, by_trace))


def choose_credits(
    payouts: Sequence[PayoutIn],
    credits: Sequence[CreditIn],
    blocked: AbstractSet[tuple[str, str]] = frozenset(),
) -> list[PayoutChoice]:
    """A credit for each payout that has one, no credit given twice (oldest payout first).

    ``blocked`` holds (payout id, transaction id) pairs a person has said are not one.
    """
    taken: set[str] = set()
    chosen = []
    for payout in sorted(payouts, key=lambda p: (p.arrival_date, p.id)):
        free = [c for c in credits if c.id not in taken and (payout.id, c.id) not in blocked]
        choice = choose_credit(payout, free)
        if choice is not None:
            taken.add(choice.transaction_id)
            chosen.append(choice)
    return chosen
