"""Bank credits matched to the Stripe payouts they are: by the engine, or by a person.

The engine looks only at payouts that are paid and not yet matched, arriving in the
last ``RECENT`` days, and at the few bank credits of their exact amounts booked near
their arrival dates: one indexed query per run, whatever the tenant's size. What to pick
is decided by ``payymo.matching.payouts``; the write (locks, checks, the match and its
event) is ``allocations.apply_payout_match``.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select
from sqlalchemy.orm import Session

from payymo.db import utcnow
from payymo.errors import PayymoError
from payymo.matching.payouts import CreditIn, PayoutIn, choose_credits, window
from payymo.models import BankAccount, Match, PayoutAllocation, StripePayout, Transaction
from payymo.services.allocations import apply_payout_match
from payymo.services.reconciliation.write import ENGINE_ACTOR
from payymo.tenancy import get_or_404

# A payout with no bank line after this long is left for a person to match.
RECENT = dt.timedelta(days=30)
OPEN_STATUSES = ("paid", "in_transit")


def _open_payouts(session: Session, today: dt.date) -> list[StripePayout]:
    return list(
        session.scalars(
            select(StripePayout).where(
                StripePayout.status.in_(OPEN_STATUSES),
                StripePayout.bank_transaction_id.is_(None),
                StripePayout.arrival_date >= today - RECENT,
            )
        )
    )


def _credits(session: Session, payouts: list[StripePayout]) -> list[CreditIn]:
    """Unmatched bank credits of the payouts' amounts, booked within their windows."""
    earliest = min(window(p.arrival_date)[0] for p in payouts)
    latest = max(window(p.arrival_date)[1] for p in payouts)
    bank_accounts = select(BankAccount.id).where(BankAccount.kind != "stripe")
    rows = session.scalars(
        select(Transaction).where(
            Transaction.booking_date.between(earliest, latest),
            Transaction.amount.in_({p.amount for p in payouts}),
            Transaction.amount_allocated == 0,
            Transaction.match_status.in_(("unmatched", "suggested")),
            Transaction.account_id.in_(bank_accounts),
        )
    )
    return [
        CreditIn(
            id=t.id,
            amount=t.amount,
            currency=t.currency,
            booking_date=t.booking_date,
            counterparty_name=t.counterparty_name,
            remittance_information=t.remittance_information,
            end_to_end_id=t.end_to_end_id,
        )
        for t in rows
    ]


def _refused(session: Session, payout_ids: list[str]) -> set[tuple[str, str]]:
    """Pairs a reversal has taken apart: never paired again by the engine."""
    rows = session.execute(
        select(PayoutAllocation.payout_id, PayoutAllocation.transaction_id).where(
            PayoutAllocation.payout_id.in_(payout_ids), PayoutAllocation.status == "reversed"
        )
    )
    return {(payout_id, txn_id) for payout_id, txn_id in rows}


def match_open_payouts(*, session: Session, today: dt.date | None = None) -> int:
    """Match the tenant's paid, unmatched payouts to their bank credits; answers how many.

    Choices are re-checked under locks when written: one that no longer holds (the
    credit matched meanwhile) is skipped, as a reconcile run skips a changed credit.
    """
    payouts = _open_payouts(session, today or utcnow().date())
    if not payouts:
        return 0
    chosen = choose_credits(
        [
            PayoutIn(p.id, p.amount, p.currency, p.arrival_date, p.trace_id)
            for p in sorted(payouts, key=lambda p: p.id)
        ],
        _credits(session, payouts),
        _refused(session, [p.id for p in payouts]),
    )
    written = 0
    for choice in chosen:
        try:
            apply_payout_match(
                session=session,
                payout_id=choice.payout_id,
                transaction_id=choice.transaction_id,
                method="auto",
                created_by=ENGINE_ACTOR,
                confidence=choice.confidence,
                reasons=[{"code": r.code, "text": r.text} for r in choice.reasons],
            )
        except PayymoError:
            continue  # checked before anything was written: nothing to undo
        written += 1
    return written


def match_by_hand(*, session: Session, payout_id: str, transaction_id: str, actor: str) -> Match:
    """A person says this bank credit is this payout; checked as the engine's choice is."""
    payout = get_or_404(session, StripePayout, payout_id, param="payout_id")
    txn = get_or_404(session, Transaction, transaction_id, param="transaction_id")
    return apply_payout_match(
        session=session,
        payout_id=payout.id,
        transaction_id=txn.id,
        method="manual",
        created_by=actor,
        reasons=[{"code": "manual", "text": "Matched to the payout by hand."}],
    )
